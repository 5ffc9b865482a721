package e2e

// pipeline-watch against remotes that fail, hang or are many, and its signals.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/testenv"
)

func TestWatchCopesWithAHangingRemote(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	hanging := "git://" + testenv.HangingServer(t) + "/stuck.git"
	daemonURL := testenv.GitDaemon(t, filepath.Dir(repo.Remote)) + filepath.Base(repo.Remote)
	s.writeConfig("[stuck]\nremote = %s\nbranches = main\n\n[ok-path]\nremote = %s\nbranches = main\n\n[ok-daemon]\nremote = %s\nbranches = main\n",
		hanging, repo.Remote, daemonURL)
	start := time.Now()
	res := s.watchOnce("--timeout", "3")
	took := time.Since(start)
	if res.code != 1 { // a remote failed: cron mails the report
		t.Fatalf("exit %d, want 1\n%s", res.code, res.stderr)
	}
	equalJobs(t, "healthy remotes", s.queued(), []string{"ok-path refs/heads/main " + repo.Head(), "ok-daemon refs/heads/main " + repo.Head()})
	if !strings.Contains(res.stderr, "cannot list the remote") || !strings.Contains(res.stderr, "stuck.git") {
		t.Errorf("the hanging remote was not reported:\n%s", res.stderr)
	}
	if !strings.Contains(res.stdout, "[stuck] "+hanging+": failed\n  error    ") ||
		!strings.Contains(res.stdout, "[ok-path] "+repo.Remote+": 1 ref, 1 match\n  queued   refs/heads/main ") {
		t.Errorf("the report:\n%s", res.stdout)
	}
	// The hanging remote takes its 3 s timeout, the healthy ones a fraction of a second at
	// the same time; 10 s more are for two busy cores. A pass that waited on the hanging
	// remote without its timeout would never end.
	if took > 3*time.Second+10*time.Second {
		t.Errorf("the pass took %v with a 3 s timeout", took)
	}
	testenv.NoProcessMentions(t, "stuck.git")
}

func TestWatchLogsAFailingRemoteOncePerChange(t *testing.T) {
	s := newSite(t)
	missing := filepath.Join(s.dir, "missing.git")
	s.writeConfig("[gone]\nremote = %s\nbranches = main\n", missing)
	calls, path := countingGit(t, s)
	s.makeWorkdir()
	p := startProcessEnv(t, []string{path}, bin.watch, "--config", s.config, "--workdir", s.workdir, "--interval", "1")
	testenv.Eventually(t, 60*time.Second, "fewer than four passes", func() bool { return calls() >= 4 })
	if n := strings.Count(p.stderr(), "cannot list the remote"); n != 1 {
		t.Errorf("the same error was logged %d times over several passes:\n%s", n, p.stderr())
	}
	// It recovers: the repository appears at that path.
	repo := testenv.NewRepo(t, nil)
	os.Rename(repo.Remote, missing)
	testenv.Eventually(t, 30*time.Second, "the recovered remote was not enqueued", func() bool { return len(s.queued()) == 1 })
	if !eventuallyLogged(p, func() bool { return strings.Contains(p.stderr(), "remote answers again") }) {
		t.Errorf("the recovery was not logged:\n%s", p.stderr())
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(t, 10*time.Second); code != 143 {
		t.Errorf("exit %d after SIGTERM, want 143", code)
	}
}

// countingGit puts a git on PATH that records each of its calls and runs the real one; it
// returns a counter of the ls-remote calls and the PATH setting to use.
func countingGit(t *testing.T, s *site) (calls func() int, pathEnv string) {
	realGit, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(s.dir, "git-calls.log")
	wrapper := s.file("bin/git", fmt.Sprintf("#!/bin/sh\necho \"$@\" >> %s\nexec %s \"$@\"\n", log, realGit), 0o755)
	calls = func() int {
		data, _ := os.ReadFile(log)
		return strings.Count(string(data), "ls-remote")
	}
	return calls, "PATH=" + filepath.Dir(wrapper) + ":" + os.Getenv("PATH")
}

// TestWatchPollsManyRemotesWithinItsBound counts, with a git that logs when each call
// starts and ends, how many ls-remote processes ran at once: never more than the bound, and
// the bound itself at the start. Whether calls overlap must not depend on how fast a busy
// machine runs them: the first calls wait (polling, for at most 60 s) until the bound is
// in flight, which a watcher running fewer at once never reaches.
func TestWatchPollsManyRemotesWithinItsBound(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	realGit, _ := exec.LookPath("git")
	calls := filepath.Join(s.dir, "calls.log")
	const remotes, bound = 200, 6
	wrapper := s.file("bin/git", fmt.Sprintf(`#!/bin/sh
echo start >> %[1]s
if [ "$(grep -c start %[1]s)" -le %[2]d ]; then
	i=0
	while [ "$(grep -c start %[1]s)" -lt %[2]d ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
fi
%[3]s "$@"
rc=$?
echo end >> %[1]s
exit $rc
`, calls, bound, realGit), 0o755)
	var config strings.Builder
	for i := 0; i < remotes; i++ {
		// Distinct URLs for one repository: each is a remote of its own.
		link := filepath.Join(s.dir, "remotes", fmt.Sprintf("r%03d.git", i))
		os.MkdirAll(filepath.Dir(link), 0o755)
		os.Symlink(repo.Remote, link)
		fmt.Fprintf(&config, "[p%03d]\nremote = %s\nbranches = main\n\n", i, link)
	}
	s.writeConfig("%s", config.String())
	// A --timeout far beyond the wait above: on a busy machine no call may be cut short,
	// which would leave a start without its end.
	s.makeWorkdir()
	res := run(t, []string{"PATH=" + filepath.Dir(wrapper) + ":" + os.Getenv("PATH")}, bin.watch,
		"--config", s.config, "--workdir", s.workdir, "--once", "--concurrency", strconv.Itoa(bound), "--timeout", "300")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if n := len(s.queued()); n != remotes {
		t.Errorf("%d jobs enqueued, want %d", n, remotes)
	}
	inFlight, peak, starts := 0, 0, 0
	for _, line := range strings.Fields(readFile(t, calls)) {
		if line == "start" {
			inFlight++
			starts++
		} else {
			inFlight--
		}
		peak = max(peak, inFlight)
	}
	if starts != remotes {
		t.Errorf("%d git calls for %d remotes", starts, remotes)
	}
	if peak != bound {
		t.Errorf("up to %d ls-remote ran at once, want exactly the bound, %d", peak, bound)
	}
}

func TestWatchSharedRemoteIsAskedOnce(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	calls, path := countingGit(t, s)
	s.writeConfig("[a]\nremote = %[1]s\nbranches = main\n\n[b]\nremote = %[1]s\nbranches = main\n", repo.Remote)
	s.makeWorkdir()
	run(t, []string{path}, bin.watch, "--config", s.config, "--workdir", s.workdir, "--once")
	if n := calls(); n != 1 {
		t.Errorf("the shared remote was asked %d times", n)
	}
	if n := len(s.queued()); n != 2 {
		t.Errorf("%d jobs, want one per project", n)
	}
}

func TestWatchReloadsOnSIGHUPAndStopsAtOnceOnSIGTERM(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	repo.Branch("dev")
	repo.Push("dev")
	s.writeConfig("[p]\nremote = %s\nbranches = main\n", repo.Remote)
	s.makeWorkdir()
	p := startProcess(t, bin.watch, "--config", s.config, "--workdir", s.workdir, "--interval", "3600")
	testenv.Eventually(t, 30*time.Second, "the first pass did not enqueue main", func() bool { return len(s.queued()) == 1 })

	// A broken file is refused, the old configuration stays.
	s.writeConfig("[p]\nremote = %s\nbranches = (?!x)\n", repo.Remote)
	p.signal(syscall.SIGHUP)
	testenv.Eventually(t, 30*time.Second, "the broken file was not reported", func() bool {
		return strings.Contains(p.stderr(), "configuration not reloaded")
	})
	s.writeConfig("[p]\nremote = %s\nbranches = main|dev\n", repo.Remote)
	p.signal(syscall.SIGHUP)
	testenv.Eventually(t, 30*time.Second, "after SIGHUP the new regex did not enqueue dev", func() bool { return len(s.queued()) == 2 })

	// SIGTERM while an ls-remote hangs: exit at once, no git left.
	hanging := "git://" + testenv.HangingServer(t) + "/stuck.git"
	s.writeConfig("[stuck]\nremote = %s\nbranches = main\n", hanging)
	p.signal(syscall.SIGHUP)
	testenv.Eventually(t, 30*time.Second, "no ls-remote of the hanging remote", func() bool {
		return len(testenv.ProcessesMentioning("stuck.git")) > 0
	})
	sent := time.Now()
	p.signal(syscall.SIGTERM)
	if code := p.wait(t, 15*time.Second); code != 143 {
		t.Errorf("exit %d, want 143", code)
	}
	// SPEC §6: on SIGTERM the watcher exits at once, hung ls-remote or not; 3 s is for two
	// busy cores, far below the 30 s poll timeout a watcher waiting for it would take.
	if took := time.Since(sent); took > 3*time.Second {
		t.Errorf("exiting took %v after SIGTERM", took)
	}
	testenv.Eventually(t, 5*time.Second, "git ls-remote outlived the watcher", func() bool {
		return len(testenv.ProcessesMentioning("stuck.git")) == 0
	})
}
