package forge

import (
	"strings"
	"testing"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/spool"
)

const testCommit = "0123456789abcdef0123456789abcdef01234567"

func TestTheDaemonsReports(t *testing.T) {
	cfg, err := config.Parse(strings.NewReader("[app]\nremote = https://gitlab.example.org/group/app.git\nforge = gitlab\n"+
		"forge.token_env = TOKEN\npull_requests = True\nforge.context = ci/${BUILD_REF_NAME}/${BUILD_PULL_REQUEST}\n"), "c.ini")
	if err != nil {
		t.Fatal(err)
	}
	project := cfg.Projects[0]
	job := spool.Job{Project: "app", Ref: "refs/merge-requests/4/head", Commit: testCommit}
	r, ok := RetryReport(project, job, 2, 5, "the build process died", time.Now())
	if !ok || r.State != Retrying || r.Description != "retry 2 of 5: the build process died" || r.Context != "ci/merge-requests/4/head/4" {
		t.Errorf("RetryReport = %+v, %v", r, ok)
	}
	r, ok = SetAsideReport(project, job, 5, "disk full", time.Now())
	if !ok || r.State != SetAside || !strings.HasPrefix(r.Description, "set aside after 5 attempts: ") {
		t.Errorf("SetAsideReport = %+v, %v", r, ok)
	}
	if _, ok := RetryReport(project, spool.Job{Project: "app", Ref: "refs/heads/main"}, 1, 5, "x", time.Now()); ok {
		t.Error("a job that never knew its commit was reported")
	}
	plain, _ := config.Parse(strings.NewReader("[app]\nremote = /r\n"), "c.ini")
	if _, ok := SetAsideReport(plain.Projects[0], job, 5, "x", time.Now()); ok {
		t.Error("a project without forge was reported")
	}
}

func TestWaits(t *testing.T) {
	dir := t.TempDir() + "/outbox"
	if Waits(dir) {
		t.Error("a missing outbox waits")
	}
	cfg, _ := config.Parse(strings.NewReader("[app]\nremote = https://h/o/app.git\nforge = gitea\nforge.token_env = T\n"), "c.ini")
	r, err := NewRecord(cfg.Projects[0], "refs/heads/main", testCommit, Started, "building", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := Enqueue(dir, r); err != nil {
		t.Fatal(err)
	}
	if !Waits(dir) {
		t.Error("a record does not wait")
	}
}

// A long reason, or one that is not UTF-8 (a message of git or Docker in another encoding),
// still gives a status: refusing the record would leave the forge showing pending for ever.
func TestAnyReasonGivesAStatus(t *testing.T) {
	cfg, _ := config.Parse(strings.NewReader("[app]\nremote = https://h/o/app.git\nforge = gitea\nforge.token_env = T\n"), "c.ini")
	job := spool.Job{Project: "app", Ref: "refs/heads/main", Commit: testCommit}
	for name, reason := range map[string]string{"long": strings.Repeat("docker said ", 1000), "Latin-1": "d\xe9j\xe0 vu"} {
		r, ok := SetAsideReport(cfg.Projects[0], job, 5, reason, time.Now())
		if !ok || r.State != SetAside || !strings.HasPrefix(r.Description, "set aside after 5 attempts: d") {
			t.Errorf("%s: SetAsideReport = %.100v, %v", name, r, ok)
		}
	}
}

// A branch whose name is not UTF-8 (git allows any bytes) in forge.context still reports.
func TestANonUTF8RefNameGivesAStatus(t *testing.T) {
	cfg, _ := config.Parse(strings.NewReader("[app]\nremote = https://h/o/app.git\nforge = gitea\nforge.token_env = T\n"+
		"forge.context = ci/${BUILD_REF_NAME}\nforge.target_url = https://ci/${BUILD_REF_NAME}\n"), "c.ini")
	r, err := NewRecord(cfg.Projects[0], "refs/heads/caf\xe9", testCommit, Started, "building", time.Now())
	if err != nil || r.Context != "ci/caf?" || r.TargetURL != "https://ci/caf?" {
		t.Errorf("NewRecord = %+v, %v", r, err)
	}
}
