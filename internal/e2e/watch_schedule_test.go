package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/testenv"
)

// A remote that hangs, with a project timeout of 600 s, beside a healthy one polled every
// 2 s: a commit pushed to the healthy remote is queued within two intervals (SPEC §6: each
// remote on its own schedule; the old pass waited for its slowest remote, bounded by the
// project's timeout, 600 s here). A remote with a password in its URL fails meanwhile, and
// its log line masks the password.
func TestWatchHangingRemoteDelaysNoOther(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	// Named apart from the other tests' hanging remotes, which look for leftover processes
	// by name while this one runs.
	hanging := "git://" + testenv.HangingServer(t) + "/hangs-beside-a-healthy-one.git"
	refused := "https://deploy:s3cret@127.0.0.1:1/p.git"
	s.writeConfig(`[stuck]
remote = %s
branches = main
timeout = 600

[ok]
remote = %s
branches = main
timeout = 600

[secret]
remote = %s
branches = main
`, hanging, repo.Remote, refused)
	const interval = 2 * time.Second
	s.makeWorkdir()
	p := startProcess(t, bin.watch, "--config", s.config, "--workdir", s.workdir, "--interval", "2")
	testenv.Eventually(t, 60*time.Second, "the healthy remote was not polled", func() bool { return len(s.queued()) == 1 })
	testenv.Eventually(t, 30*time.Second, "no ls-remote of the hanging remote", func() bool {
		return len(testenv.ProcessesMentioning(hanging)) > 0
	})

	repo.Branch("main")
	next := repo.Commit("next", nil)
	repo.Push("main")
	pushed := time.Now()
	job := "ok refs/heads/main " + next
	testenv.Eventually(t, 60*time.Second, "the new commit of the healthy remote was not queued", func() bool {
		return slices.Contains(s.queued(), job)
	})
	// Measured to the job file's own time, not to when this loop saw it: the scheduling,
	// not how fast a busy machine runs this test, is what is asserted. A poll starts at most
	// one interval after the push and takes a fraction of one; the slack is for two busy
	// cores (git starting slowly), far below the 30 s timeout of the hanging remote.
	const slack = 4 * time.Second
	took := jobTime(t, s, next).Sub(pushed)
	t.Logf("queued %v after the push", took.Round(time.Millisecond))
	if took > 2*interval+slack {
		t.Errorf("the new commit was queued %v after the push, want less than %v", took.Round(time.Millisecond), 2*interval+slack)
	}
	// The hanging remote is skipped while in flight, not asked again every interval.
	if procs := testenv.ProcessesMentioning(hanging); len(procs) != 1 {
		t.Errorf("%d ls-remote of the hanging remote at once, want 1: %q", len(procs), procs)
	}

	testenv.Eventually(t, 30*time.Second, "the failing remote was not reported", func() bool {
		return strings.Contains(p.stderr(), "127.0.0.1:1/p.git")
	})
	if log := p.stderr(); strings.Contains(log, "s3cret") || !strings.Contains(log, "deploy:***@127.0.0.1:1/p.git") || !strings.Contains(log, "fatal:") {
		t.Errorf("the failing remote's log line does not mask its password, or lacks git's words:\n%s", log)
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(t, 10*time.Second); code != 143 {
		t.Errorf("exit %d after SIGTERM, want 143", code)
	}
}

// One ls-remote is bounded by the watcher's own --timeout, never by a project's build
// timeout: the hanging remote's error comes after 2 s although the project allows 600.
func TestWatchPollTimeoutIsTheWatchersOwn(t *testing.T) {
	s := newSite(t)
	hanging := "git://" + testenv.HangingServer(t) + "/hangs-past-the-poll-timeout.git"
	s.writeConfig("[stuck]\nremote = %s\nbranches = main\ntimeout = 600\n", hanging)
	// --once waits for every remote, the hanging one for 2 s, not for 600; a remote that
	// failed makes it exit 1.
	s.makeWorkdir()
	p := startProcess(t, bin.watch, "--config", s.config, "--workdir", s.workdir, "--once", "--timeout", "2")
	if code := p.wait(t, 60*time.Second); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, p.stderr())
	}
	if log := p.stderr(); !strings.Contains(log, "cannot list the remote") || !strings.Contains(log, "after 2s: timed out") {
		t.Errorf("the hanging remote was not reported as timed out after 2 s:\n%s", log)
	}
	testenv.NoProcessMentions(t, hanging)
}

// jobTime is when the watcher wrote the queued job for commit: its file's time.
func jobTime(t *testing.T, s *site, commit string) time.Time {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.workdir, ".pipelined", "spool", "new", "*"))
	for _, f := range files {
		info, err := os.Stat(f)
		if err == nil && strings.Contains(readFile(t, f), commit) {
			return info.ModTime()
		}
	}
	t.Fatalf("no job file for %s", commit)
	return time.Time{}
}
