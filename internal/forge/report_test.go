package forge

import (
	"strings"
	"testing"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/spool"
)

func TestTheDaemonsReports(t *testing.T) {
	s := newSite(t, config.ForgeGitLab, "https://gitlab.example.org", "pull_requests = True\nforge.context = ci/${BUILD_REF_NAME}/${BUILD_PULL_REQUEST}\n")
	job := spool.Job{Project: "app", Ref: "refs/merge-requests/4/head", Commit: testCommit}
	r, ok := RetryReport(s.project(), job, 2, 5, "the build process died", time.Now())
	if !ok || r.State != Retrying || r.Description != "retry 2 of 5: the build process died" || r.Context != "ci/merge-requests/4/head/4" {
		t.Errorf("RetryReport = %+v, %v", r, ok)
	}
	r, ok = SetAsideReport(s.project(), job, 5, "disk full", time.Now())
	if !ok || r.State != SetAside || !strings.HasPrefix(r.Description, "set aside after 5 attempts: ") {
		t.Errorf("SetAsideReport = %+v, %v", r, ok)
	}
	if _, ok := RetryReport(s.project(), spool.Job{Project: "app", Ref: "refs/heads/main"}, 1, 5, "x", time.Now()); ok {
		t.Error("a job that never knew its commit was reported")
	}
	plain, _ := config.Parse(strings.NewReader("[app]\nremote = /r\n"), "c.ini")
	if _, ok := SetAsideReport(plain.Projects[0], job, 5, "x", time.Now()); ok {
		t.Error("a project without forge was reported")
	}
}
