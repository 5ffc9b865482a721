package e2e

// Cancel by hand, poll now, and the commands beside the daemon (issue "Build lifecycle").

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/outcome"
	"pipelined/internal/spool"
	"pipelined/internal/testenv"
)

// TestCancelByHand: pipelined cancel drops queued jobs and cancels running builds, with the
// daemon and without it.
func TestCancelByHand(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	cb := s.file("cb.sh", callbackScript, 0o755)
	s.writeConfig("[p]\nremote = %[1]s\nsupersede = False\nprepare_callback = /bin/sleep 300\nerror_callback = %[2]s error\n\n[q]\nremote = %[1]s\n", repo.Remote, cb)
	cancel := func(args ...string) result {
		return run(t, nil, bin.pipelined, append([]string{"cancel", "--workdir", s.workdir}, args...)...)
	}
	cs := commits(repo, 2)

	// Without the daemon: a queued job.
	s.enqueue("p", "main", cs[0])
	s.enqueue("q", "main", cs[0])
	res := cancel("p", "main")
	if res.code != 0 || !strings.Contains(res.stdout, "dropped queued job") {
		t.Errorf("cancel of a queued job: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if q := s.jobsIn(spool.New); len(q) != 1 || !strings.HasPrefix(q[0], "q ") {
		t.Errorf("queue after the cancel: %v", q)
	}
	if res := cancel("p"); res.code != 1 || !strings.Contains(res.stderr, "nothing matched") {
		t.Errorf("cancel of nothing: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if res := cancel("q", "main", cs[0]); res.code != 0 || len(s.jobsIn(spool.New)) != 0 {
		t.Errorf("cancel of q by its full commit: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}

	// With the daemon: a running build and a queued one.
	s.enqueue("p", "main", cs[0])
	s.enqueue("p", "main", cs[1])
	p := s.daemon("--interval", "0")
	waitFor(t, p, time.Minute, "p's build did not start", func() bool { return s.running() == 1 })
	res = cancel("p", "refs/heads/main")
	if res.code != 0 || !strings.Contains(res.stdout, "canceling running build") || !strings.Contains(res.stdout, "dropped queued job") {
		t.Errorf("cancel with the daemon: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	waitFor(t, p, time.Minute, "the canceled build's job was not withdrawn", func() bool {
		return logCount(p, "build finished", "project=p", "outcome=withdrawn") == 1
	})
	var b *buildlog.Status
	for _, st := range s.finished() {
		if st.Project == "p" {
			b = st
		}
	}
	if b == nil || b.Result != outcome.Canceled || b.Reason != "canceled by hand" {
		t.Fatalf("the canceled build: %+v", b)
	}
	if env := envFile(t, filepath.Join(b.Path, "error.env")); env["BUILD_STATUS"] != "canceled" {
		t.Errorf("error_callback saw BUILD_STATUS=%q", env["BUILD_STATUS"])
	}

	// Without the daemon: a build that outlived it (killed), canceled, is not run again
	// when the daemon comes back.
	s.enqueue("p", "main", cs[1])
	waitFor(t, p, time.Minute, "p's second build did not start", func() bool { return s.running() == 1 })
	p.cmd.Process.Kill()
	p.wait(t, time.Minute)
	res = cancel("p", "main", cs[1][:7])
	if res.code != 0 || !strings.Contains(res.stdout, "canceling running build") {
		t.Errorf("cancel without the daemon: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	testenv.Eventually(t, time.Minute, "the orphaned build did not stop", func() bool { return s.running() == 0 })
	p = s.daemon("--interval", "0")
	waitFor(t, p, time.Minute, "the restarted daemon did not settle the canceled job", func() bool {
		return logCount(p, "build finished", "outcome=withdrawn") == 1
	})
	if n := len(s.jobsIn(spool.New)) + len(s.jobsIn(spool.Cur)); n != 0 {
		t.Errorf("%d jobs left after the cancel", n)
	}
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)

	// A build run by hand.
	hand := startProcess(t, bin.build, "--config", s.config, "--workdir", s.workdir, "p", "main")
	testenv.Eventually(t, time.Minute, "the build by hand did not start", func() bool { return s.running() == 1 })
	testenv.Eventually(t, time.Minute, "the build by hand did not reach its slow step", func() bool {
		return len(testenv.ProcessesMentioning("sleep\x00300")) > 0
	})
	if res := cancel("p"); res.code != 0 || !strings.Contains(res.stdout, "run by hand") {
		t.Errorf("cancel of a build by hand: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if code := hand.wait(t, time.Minute); code != 143 {
		t.Errorf("the build by hand exited %d, want 143", code)
	}
	for _, st := range s.finished() {
		if st.Source == spool.SourceManual && (st.Result != outcome.Canceled || st.Reason != "canceled by hand") {
			t.Errorf("the build by hand: %s (%s)", st.Result, st.Reason)
		}
	}
}

// TestPollNow: SIGUSR1 (or pipelined poll) makes the watcher ask the remotes at once,
// however long the interval.
func TestPollNow(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[p]\nremote = %s\nbranches = main\n", repo.Remote)
	p := s.daemon("--interval", "3600")
	waitFor(t, p, time.Minute, "main was not built at start", func() bool { return len(s.finished()) == 1 })

	newer := repo.Commit("newer", nil)
	repo.Push("main")
	sent := time.Now()
	p.signal(syscall.SIGUSR1)
	waitFor(t, p, time.Minute, "SIGUSR1 did not poll", func() bool { return logCount(p, "msg=enqueued", "commit="+newer[:8]) == 1 })
	t.Logf("queued %v after SIGUSR1", time.Since(sent).Round(time.Millisecond))
	// SIGUSR1 starts a pass at once (SPEC §8): one ls-remote of a local repository, some
	// 50 ms; 2 s is for two busy cores, and far below the hour a lost signal would wait.
	if took := time.Since(sent); took > 2*time.Second {
		t.Errorf("the commit was queued %v after SIGUSR1", took)
	}

	newest := repo.Commit("newest", nil)
	repo.Push("main")
	res := run(t, nil, bin.pipelined, "poll", "--config", s.config, "--workdir", s.workdir, "p")
	if res.code != 0 || !strings.Contains(res.stdout, "to poll the remote of p now") {
		t.Errorf("pipelined poll: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	waitFor(t, p, time.Minute, "pipelined poll did not poll", func() bool { return logCount(p, "msg=enqueued", "commit="+newest[:8]) == 1 })
	waitFor(t, p, time.Minute, "the polled commits were not built", func() bool { return s.hasBuild("p", "refs/heads/main", newest) })
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)

	// Without a daemon, poll runs a pass itself.
	last := repo.Commit("last", nil)
	repo.Push("main")
	res = run(t, nil, bin.pipelined, "poll", "--config", s.config, "--workdir", s.workdir)
	if res.code != 0 || !strings.Contains(res.stdout, "no daemon runs") || !strings.Contains(res.stdout, "total: 1 queued") {
		t.Errorf("pipelined poll without a daemon: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if q := s.queued(); len(q) != 1 || !strings.HasSuffix(q[0], last) {
		t.Errorf("queued %v, want the last commit", q)
	}

	// A remote that cannot be listed makes it exit 1, for cron and scripts, and the report
	// names it; the other project's pass still counts.
	s.writeConfig("[p]\nremote = %s\nbranches = main\n\n[gone]\nremote = %s\nbranches = main\n",
		repo.Remote, filepath.Join(s.dir, "no-such-repository"))
	res = run(t, nil, bin.pipelined, "poll", "--config", s.config, "--workdir", s.workdir)
	if res.code != 1 || !strings.Contains(res.stdout, "[gone]") || !strings.Contains(res.stdout, "1 failed") {
		t.Errorf("pipelined poll with a missing remote: exit %d, want 1\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// TestAMistypedWorkDirectoryIsNotCreated: the commands beside the daemon refuse a work
// directory that has no .pipelined/, rather than make one nobody serves.
func TestAMistypedWorkDirectoryIsNotCreated(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[p]\nremote = %s\nbranches = main\n", repo.Remote)
	typo := filepath.Join(s.dir, "wrokdir")
	for _, args := range [][]string{
		{"status", "--workdir", typo},
		{"enqueue", "--config", s.config, "--workdir", typo, "p", "main"},
		{"cancel", "--workdir", typo, "p"},
		{"prune", "--config", s.config, "--workdir", typo},
		{"poll", "--config", s.config, "--workdir", typo},
	} {
		res := run(t, nil, bin.pipelined, args...)
		if res.code != 2 || !strings.Contains(res.stderr, "not a pipelined work directory") {
			t.Errorf("pipelined %s: exit %d\n%s", args[0], res.code, res.stderr)
		}
		if _, err := os.Stat(typo); err == nil {
			t.Fatalf("pipelined %s created %s", args[0], typo)
		}
	}
	// Nor does pipeline-watch (from cron, say) queue jobs there.
	if res := run(t, nil, bin.watch, "--config", s.config, "--workdir", typo, "--once"); res.code != 2 ||
		!strings.Contains(res.stderr, "not a pipelined work directory") {
		t.Errorf("pipeline-watch --once: exit %d\n%s", res.code, res.stderr)
	}
	if _, err := os.Stat(typo); err == nil {
		t.Fatalf("pipeline-watch created %s", typo)
	}
	// --dump-config needs no work directory at all.
	if res := run(t, nil, bin.pipelined, "--config", s.config, "--dump-config"); res.code != 0 || !strings.Contains(res.stdout, "[p]") {
		t.Errorf("--dump-config without --workdir: exit %d\n%s", res.code, res.stderr)
	}
	// pipeline-build makes one.
	if res := s.build("p", "main"); res.code != 0 {
		t.Fatalf("build: %s", res.stderr)
	}
	if res := run(t, nil, bin.pipelined, "status", "--workdir", s.workdir); res.code != 0 {
		t.Errorf("status after a build by hand: exit %d\n%s", res.code, res.stderr)
	}
}

// TestPollWithoutAWatcher: a daemon that does not poll (--interval 0, the webhook set-up)
// runs one pass of its own when asked to poll, for the project asked for.
func TestPollWithoutAWatcher(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[p]\nremote = %[1]s\nbranches = main\n\n[q]\nremote = %[1]s\nbranches = main\n", repo.Remote)
	p := s.daemon("--interval", "0")
	res := run(t, nil, bin.pipelined, "poll", "--config", s.config, "--workdir", s.workdir, "p")
	if res.code != 0 {
		t.Fatalf("poll: exit %d\n%s", res.code, res.stderr)
	}
	waitFor(t, p, time.Minute, "the asked-for project was not polled and built", func() bool {
		return s.hasBuild("p", "refs/heads/main", repo.Head())
	})
	if s.hasBuild("q", "refs/heads/main", repo.Head()) || len(s.queued()) != 0 {
		t.Errorf("a project that was not asked for was polled")
	}
	if left, _ := os.ReadDir(filepath.Join(s.workdir, ".pipelined", "poll")); len(left) != 0 {
		t.Errorf("poll requests left behind: %v", left)
	}
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}
