package e2e

// Issue 18, item 8: the smaller holes. Nothing in the spool waits for ever unnoticed, an
// interrupted removal is finished, a failing remote is logged once, secrets stay masked,
// and a reload is logged once.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/testenv"
)

// TestStrayFilesRemovalsSecretsAndReloadsAreDealtWith: a job file whose name starts with a
// dot is set aside to bad/ with a reason (once it is older than a copying tool's temporary
// file would be); a build directory that a removal renamed aside (.removing-…) and a
// shutdown left is gone after the start; --dump-config prints neither an env value nor a
// URL's password; an edit of the configuration followed by SIGHUP is logged as one reload.
func TestStrayFilesRemovalsSecretsAndReloadsAreDealtWith(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	config := fmt.Sprintf("[p]\nremote = %s\nwatch = False\nenv = DEPLOY_TOKEN=s3cret-value\n\n"+
		"[q]\nremote = https://deploy:hunter2@git.example.com/q.git\nwatch = False\n", repo.Remote)
	s.writeConfig("%s", config)
	res := run(t, nil, bin.pipelined, "--dump-config", "--config", s.config)
	if res.code != 0 || strings.Contains(res.stdout, "s3cret-value") || strings.Contains(res.stdout, "hunter2") || !strings.Contains(res.stdout, "***") {
		t.Errorf("--dump-config: exit %d, a secret in clear or none masked:\n%s%s", res.code, res.stdout, res.stderr)
	}
	removing := filepath.Join(s.workdir, "p", "refs%2Fheads%2Fmain", ".removing-0123abcd")
	s.file(filepath.Join("work", "p", "refs%2Fheads%2Fmain", ".removing-0123abcd", "build.log"), "half removed\n", 0o644)
	os.MkdirAll(filepath.Join(s.workdir, ".pipelined", "spool", "new"), 0o755)
	s.dropJob(".hidden.job", `{"project": "p", "ref": "refs/heads/main"}`)
	old := time.Now().Add(-time.Minute) // older than a copying tool's temporary file
	os.Chtimes(filepath.Join(s.workdir, ".pipelined", "spool", "new", ".hidden.job"), old, old)
	p := s.daemon()
	waitFor(t, p, time.Minute, "the dot file was not set aside", func() bool {
		return logCount(p, "rejected a job file", "job=.hidden.job", "a name starting with '.'") == 1
	})
	if reasons, _ := filepath.Glob(filepath.Join(s.workdir, ".pipelined", "spool", "bad", "*.reason")); len(reasons) != 1 {
		t.Errorf("bad/ holds %d reasons, want the dot file's", len(reasons))
	}
	waitFor(t, p, time.Minute, "the interrupted removal was not finished", func() bool {
		return !exists(removing) && logCount(p, "finished removing a build") == 1
	})
	// Two edits, each followed by SIGHUP: each is one reload, whether the daemon hears of
	// it from the signal or from the file.
	for i := 1; i <= 2; i++ {
		config += fmt.Sprintf("\n[r%d]\nremote = %s\nwatch = False\n", i, repo.Remote)
		s.writeConfig("%s", config)
		p.signal(syscall.SIGHUP)
		waitFor(t, p, time.Minute, "the edit was not reloaded", func() bool { return logCount(p, "configuration reloaded") >= i })
	}
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
	if n := logCount(p, "configuration reloaded"); n != 2 {
		t.Errorf("two edits were logged as %d reloads:\n%s", n, p.stderr())
	}
	if strings.Contains(p.stderr(), "s3cret-value") || strings.Contains(p.stderr(), "hunter2") {
		t.Errorf("a secret in the daemon's log:\n%s", p.stderr())
	}
}

// TestARemoteFailingAtEveryPassIsLoggedOnce: a remote that fails at every pass of the
// daemon's polling, with an error that quotes a different number each time (git's "after
// N ms"), is logged once; its recovery is logged with the count of the polls that failed.
// The error comes from a git on PATH that answers for that remote alone while a flag
// file exists (an error path may use a fake); the recovery is the real git's.
func TestARemoteFailingAtEveryPassIsLoggedOnce(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	realGit, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	failing := s.file("failing", "", 0o644)
	calls := filepath.Join(s.dir, "calls")
	s.file("bin/git", fmt.Sprintf(`#!/bin/sh
case "$*" in *ls-remote*%[1]s*)
  echo x >> %[2]s
  if [ -e %[3]s ]; then
    echo "fatal: unable to access '%[1]s/': Failed to connect to 127.0.0.1 port 9 after $(date +%%N | cut -c1-4) ms: Couldn't connect to server" >&2
    exit 128
  fi;;
esac
exec %[4]s "$@"
`, repo.Remote, calls, failing, realGit), 0o755)
	s.writeConfig("[p]\nremote = %s\nbranches = main\n", repo.Remote)
	s.makeWorkdir()
	p := startProcessEnv(t, []string{"PATH=" + filepath.Join(s.dir, "bin") + ":" + os.Getenv("PATH")},
		bin.pipelined, "--config", s.config, "--workdir", s.workdir, "--interval", "1")
	passes := func() int { data, _ := os.ReadFile(calls); return strings.Count(string(data), "x") }
	waitFor(t, p, time.Minute, "fewer than four passes", func() bool { return passes() >= 4 })
	if n := logCount(p, "cannot list the remote"); n != 1 {
		t.Errorf("the remote's error was logged %d times in %d passes:\n%s", n, passes(), p.stderr())
	}
	os.Remove(failing)
	waitFor(t, p, time.Minute, "the recovery was not logged", func() bool { return logCount(p, "remote answers again") == 1 })
	if logCount(p, "remote answers again", "failed_polls=") != 1 || logCount(p, "failed_polls=0 ") == 1 {
		t.Errorf("the recovery does not count the failed polls:\n%s", p.stderr())
	}
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}
