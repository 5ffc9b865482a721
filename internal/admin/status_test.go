package admin

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/config"
	"pipelined/internal/engine"
	"pipelined/internal/forge"
	"pipelined/internal/outcome"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// TestStatusShowsTheLatestAttemptOfARunningJob: a retried job has a build directory per
// attempt (SHORT.tmp, SHORT-2.tmp, …); the one running is the latest started, whatever the
// names' order. It says what started the build, as QUEUED does.
func TestStatusShowsTheLatestAttemptOfARunningJob(t *testing.T) {
	l := workdir.Layout{Root: t.TempDir()}
	sp, err := spool.Open(l.SpoolDir())
	if err != nil {
		t.Fatal(err)
	}
	commit := strings.Repeat("ab", 20)
	name, err := sp.Write(spool.Job{Project: "p", Ref: "refs/heads/main", Commit: commit, Source: "webhook"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Claim(name); err != nil {
		t.Fatal(err)
	}
	held, err := spool.Hold(sp.Path(spool.Cur, name))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	now := time.Now()
	for i, d := range []string{"abababab.tmp", "abababab-2.tmp"} { // the first attempt sorts last
		dir := filepath.Join(l.RefDir("p", "refs/heads/main"), d)
		os.MkdirAll(dir, 0o755)
		st := &buildlog.Status{Project: "p", Ref: "refs/heads/main", Commit: commit, ShortCommit: commit[:8], Path: dir, Job: name,
			Result: outcome.Failed, Retry: true, Started: now.Add(time.Duration(i-2) * time.Minute)}
		if i == 1 {
			st.Result, st.PID = outcome.Running, os.Getpid()
		}
		if err := st.Save(workdir.StatusPath(dir)); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := Status(&out, l.Root, ""); err != nil {
		t.Fatal(err)
	}
	running := out.String()[strings.Index(out.String(), "RUNNING"):strings.Index(out.String(), "REFS")]
	if !strings.Contains(running, "abababab-2.tmp") || strings.Contains(running, "abababab.tmp") || !strings.Contains(running, " webhook  running ") {
		t.Errorf("RUNNING does not show the latest attempt:\n%s", running)
	}
}

// TestStatusSaysWhyAJobPinnedToUnknownEnginesWaits: a project pinned to engines the daemon
// was not given waits for ever; with the configuration, status says why.
func TestStatusSaysWhyAJobPinnedToUnknownEnginesWaits(t *testing.T) {
	cfg, err := config.Parse(strings.NewReader("[pinned]\nremote = /r\nbuild = True\nengines = arm64\n\n[free]\nremote = /r\nbuild = True\n"), "c.ini")
	if err != nil {
		t.Fatal(err)
	}
	engines := []engine.State{{Engine: engine.Engine{Name: "local", Slots: 1}}}
	if why := unservedEngines(cfg, engines, "pinned"); !strings.Contains(why, "arm64") {
		t.Errorf("pinned: %q", why)
	}
	for _, project := range []string{"free", "unknown"} {
		if why := unservedEngines(cfg, engines, project); why != "" {
			t.Errorf("%s: %q", project, why)
		}
	}
	engines = append(engines, engine.State{Engine: engine.Engine{Name: "arm64", Slots: 1}})
	if why := unservedEngines(cfg, engines, "pinned"); why != "" {
		t.Errorf("pinned, with arm64: %q", why)
	}
}

func TestStatusShowsForgeStatusesWaiting(t *testing.T) {
	l := workdir.Layout{Root: t.TempDir()}
	if _, err := spool.Open(l.SpoolDir()); err != nil {
		t.Fatal(err)
	}
	var before bytes.Buffer
	if err := Status(&before, l.Root, ""); err != nil || strings.Contains(before.String(), "FORGE") {
		t.Fatalf("without a forge: %v\n%s", err, before.String())
	}
	cfg, err := config.Parse(strings.NewReader("[web]\nremote = https://h/o/web.git\nforge = gitea\nforge.token_env = T\n"), "c.ini")
	if err != nil {
		t.Fatal(err)
	}
	r, _ := forge.NewRecord(cfg.Projects[0], "refs/pull/3/head", strings.Repeat("cd", 20), forge.Succeeded, "succeeded in 3s", time.Now())
	if err := forge.Enqueue(l.OutboxDir(), r); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Status(&out, l.Root, ""); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "FORGE STATUSES WAITING (1)") || !regexp.MustCompile(`web +refs/pull/3/head +cdcdcdcd +succeeded +since`).MatchString(out.String()) {
		t.Errorf("status does not show the waiting status:\n%s", out.String())
	}
}
