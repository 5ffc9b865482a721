package admin

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/forge"
	"pipelined/internal/outcome"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// TestCancelingAJobThatShowedARetryReportsIt: a queued job waiting for its retry shows
// "retry 1 of 5" (pending) on the forge; dropped by hand, it gets its final status, canceled,
// through the outbox, where the daemon's last configuration sends it. A job never tried
// showed nothing, and gets nothing.
func TestCancelingAJobThatShowedARetryReportsIt(t *testing.T) {
	l := workdir.Layout{Root: t.TempDir()}
	sp, err := spool.Open(l.SpoolDir())
	if err != nil {
		t.Fatal(err)
	}
	src := "[p]\nremote = https://git.example.org/o/p.git\nforge = gitea\nforge.token_env = T\n"
	if err := os.WriteFile(l.ConfigSnapshot(), config.Snapshot([]byte(src), "/etc/pipelined.ini"), 0o600); err != nil {
		t.Fatal(err)
	}
	jobs := outcome.NewJobs(sp)
	tried := spool.Job{Project: "p", Ref: "refs/heads/main", Commit: strings.Repeat("1", 40)}
	name, _ := sp.Write(tried)
	if _, err := jobs.Claim(name); err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Retry(name, tried, []spool.Attempt{{At: time.Now(), Reason: "the build process died"}}); err != nil {
		t.Fatal(err)
	}
	sp.Write(spool.Job{Project: "p", Ref: "refs/heads/dev", Commit: strings.Repeat("2", 40)})
	var out bytes.Buffer
	if err := Cancel(&out, CancelOptions{Workdir: l.Root, Project: "p"}); err != nil {
		t.Fatal(err)
	}
	waiting, _, err := forge.Waiting(l.OutboxDir())
	if err != nil || len(waiting) != 1 {
		t.Fatalf("waiting %+v, %v; want the tried job's status alone\n%s", waiting, err, out.String())
	}
	if r := waiting[0]; r.Commit != tried.Commit || r.State != forge.Canceled || r.Description != "canceled: "+CancelReason {
		t.Errorf("status %+v", r)
	}
}
