package e2e

// The daemon's passes of pipeline-watch: a hanging remote holds up no other (issue 19).

import (
	"syscall"
	"testing"
	"time"

	"pipelined/internal/testenv"
)

// A remote that hangs for the whole --poll-timeout (60 s here) beside a healthy one polled
// every 2 s by the daemon: a commit pushed to the healthy remote is queued within two
// intervals, as docs/daemon.md promises ("one slow or hanging remote never delays the
// others"). Before, a pass stuck on the hanging remote kept the healthy one in flight too,
// so it was polled once a minute instead of every 2 s.
func TestDaemonHangingRemoteDelaysNoOther(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	hanging := "git://" + testenv.HangingServer(t) + "/hangs-beside-a-healthy-one-in-a-pass.git"
	s.writeConfig("[stuck]\nremote = %s\nbranches = main\n\n[ok]\nremote = %s\nbranches = main\n", hanging, repo.Remote)
	p := s.daemon("--interval", "2", "--poll-timeout", "60")
	testenv.Eventually(t, 60*time.Second, "the healthy remote was not polled", func() bool { return len(s.finished()) == 1 })
	testenv.Eventually(t, 30*time.Second, "no ls-remote of the hanging remote", func() bool {
		return len(testenv.ProcessesMentioning(hanging)) > 0
	})

	next := repo.Commit("next", nil)
	repo.Push("main")
	pushed := time.Now()
	testenv.Eventually(t, 90*time.Second, "the new commit of the healthy remote was not built", func() bool {
		return s.hasBuild("ok", "refs/heads/main", next)
	})
	// A poll starts at most one interval after the push; the slack is for the build and two
	// busy cores, far below the 60 s the hanging remote holds its pass.
	const interval, slack = 2 * time.Second, 12 * time.Second
	if took := time.Since(pushed); took > 2*interval+slack {
		t.Errorf("the new commit was built %v after the push, want less than %v", took.Round(time.Millisecond), 2*interval+slack)
	}
	if procs := testenv.ProcessesMentioning(hanging); len(procs) > 1 {
		t.Errorf("%d ls-remote of the hanging remote at once, want at most 1: %q", len(procs), procs)
	}
	p.signal(syscall.SIGTERM)
	p.wait(t, time.Minute)
}
