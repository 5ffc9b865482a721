package e2e

// The faults of issue "Nothing wanted is ever lost" (SPEC §5.1, §8), each against the real
// binaries: a restart during a build, a full or blocked disk, hostile files in the spool, a
// status loop beside starting builds, a second daemon, killed processes.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/outcome"
	"pipelined/internal/spool"
	"pipelined/internal/testenv"
	"pipelined/internal/workdir"
)

// successes counts the successful builds of each project, ref and commit.
func (s *site) successes() map[string]int {
	n := map[string]int{}
	for _, b := range s.finished() {
		if b.Result == outcome.Success {
			n[b.Project+" "+b.Ref+" "+b.JobCommit()]++
		}
	}
	return n
}

// logCount counts the lines of the daemon's log that contain all of words.
// eventuallyLogged waits up to a minute for cond about p's log: the daemon writes its log
// from a goroutine of its own, a moment after what a line reports has happened.
func eventuallyLogged(p *process, cond func() bool) bool {
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || p.exited() && !cond() {
			return cond()
		}
	}
}

func logCount(p *process, words ...string) int {
	n := 0
	for _, line := range strings.Split(p.stderr(), "\n") {
		all := true
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			n++
		}
	}
	return n
}

// waitFor is testenv.Eventually with the daemon's log in the failure message.
func waitFor(t *testing.T, p *process, timeout time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s\n%s", timeout, msg, p.stderr())
		}
		time.Sleep(5 * time.Millisecond) // a polling interval, not a wait for an effect
	}
}

// TestRestartDuringABuildBuildsItAgain: SIGTERM (systemctl restart) cancels the running
// build; its job is kept and built after the restart, once.
func TestRestartDuringABuildBuildsItAgain(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	marker := s.file("slow.sh", "#!/bin/sh\n[ -e \"$0.first\" ] || { touch \"$0.first\"; exec sleep 300; }\n", 0o755)
	s.writeConfig("[p]\nremote = %s\nbranches = main\nprepare_callback = %s\n", repo.Remote, marker)
	p := s.daemon("--interval", "1", "--grace", "2s")
	waitFor(t, p, time.Minute, "the slow step did not start", func() bool { _, err := os.Stat(marker + ".first"); return err == nil })
	p.signal(syscall.SIGTERM)
	if code := p.wait(t, time.Minute); code != 0 {
		t.Fatalf("exit %d after SIGTERM\n%s", code, p.stderr())
	}
	if q := s.jobsIn(spool.New); len(q) != 1 {
		t.Fatalf("the canceled build's job is not back in the queue: new/ = %v, cur/ = %v\n%s", q, s.jobsIn(spool.Cur), p.stderr())
	}
	if logCount(p, "build finished", "outcome=requeued") != 1 {
		t.Errorf("the requeue was not logged:\n%s", p.stderr())
	}

	p = s.daemon("--interval", "1", "--grace", "2s")
	key := "p refs/heads/main " + repo.Head()
	waitFor(t, p, time.Minute, "the commit was not built after the restart", func() bool { return s.successes()[key] == 1 })
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
	// Another pass of the watcher finds nothing new: the commit is built.
	if res := s.watchOnce(); res.code != 0 || len(s.queued()) != 0 {
		t.Errorf("the watcher queued the built commit again: %v\n%s", s.queued(), res.stderr)
	}
	if n := s.successes()[key]; n != 1 {
		t.Errorf("the commit was built %d times, want once", n)
	}
	dirs := s.buildDirs("p", workdir.EncodeRef("refs/heads/main"))
	if len(dirs) != 2 {
		t.Errorf("want the canceled build and the rebuild, have %v", dirs)
	}
	for _, d := range dirs {
		if st := status(t, d); st.Result == outcome.Running {
			t.Errorf("%s says running", d)
		}
	}
}

// prepareJobs writes job files into spool/tmp/, to be delivered later by rename (which a
// full disk still allows).
func (s *site) prepareJobs(t *testing.T, jobs ...spool.Job) []string {
	t.Helper()
	dir := filepath.Join(s.workdir, ".pipelined", "spool")
	var names []string
	for i, j := range jobs {
		name := fmt.Sprintf("%020d.prepared-%d.job", time.Now().UnixNano(), i)
		if err := os.WriteFile(filepath.Join(dir, spool.Tmp, name), j.Encode(), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

func (s *site) deliver(t *testing.T, names []string) {
	t.Helper()
	dir := filepath.Join(s.workdir, ".pipelined", "spool")
	for _, name := range names {
		if err := os.Rename(filepath.Join(dir, spool.Tmp, name), filepath.Join(dir, spool.New, name)); err != nil {
			t.Fatal(err)
		}
	}
}

func (s *site) runningStatuses() []*buildlog.Status {
	var out []*buildlog.Status
	builds, _ := workdir.Layout{Root: s.workdir}.Builds()
	for _, b := range builds {
		if st, err := buildlog.LoadStatus(filepath.Join(b.Dir, "build.json")); err == nil && st.Result == outcome.Running {
			out = append(out, st)
		}
	}
	return out
}

// TestStatusLoopBesideStartingBuilds: probing the build locks never takes them, so a tight
// loop of `pipelined status` (and of probes) cannot make a starting build fail.
func TestStatusLoopBesideStartingBuilds(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	const n = 50
	var cfg strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&cfg, "[p%d]\nremote = %s\n\n", i, repo.Remote)
	}
	s.writeConfig("%s", cfg.String())
	for i := 0; i < n; i++ {
		s.enqueue(fmt.Sprintf("p%d", i), "main", repo.Head())
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var statuses, probes atomic.Int64
	wg.Add(2)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			exec.Command(bin.pipelined, "status", "--workdir", s.workdir).Run()
			statuses.Add(1)
		}
	}()
	go func() {
		defer wg.Done()
		cur := filepath.Join(s.workdir, ".pipelined", "spool", "cur")
		for !stop.Load() {
			files, _ := filepath.Glob(filepath.Join(cur, "*"))
			for _, f := range files {
				spool.Locked(f)
				probes.Add(1)
			}
		}
	}()
	p := s.daemon("--limit", "4", "--interval", "0")
	waitFor(t, p, 5*time.Minute, "the builds did not all finish", func() bool { return len(s.finished()) == n })
	stop.Store(true)
	wg.Wait()
	t.Logf("%d status runs and %d probes beside %d builds", statuses.Load(), probes.Load(), n)
	for _, b := range s.finished() {
		if b.Result != outcome.Success {
			t.Errorf("%s: %s (%s)", b.Project, b.Result, b.Reason)
		}
	}
	if logCount(p, "outcome=retry") != 0 {
		t.Errorf("builds needed a retry beside the status loop:\n%s", p.stderr())
	}
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}

// TestSecondDaemonOnAWorkDirectoryExits: the work directory has one daemon; a second
// exits 1 at once naming the first's pid and touches nothing; status and enqueue go on.
func TestSecondDaemonOnAWorkDirectoryExits(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[p]\nremote = %[1]s\nprepare_callback = /bin/sleep 3\n\n[q]\nremote = %[1]s\n", repo.Remote)
	s.enqueue("p", "main", repo.Head())
	first := s.daemon("--interval", "0")
	waitFor(t, first, time.Minute, "the build did not start", func() bool { return s.running() == 1 })
	res := run(t, nil, bin.pipelined, "--config", s.config, "--workdir", s.workdir, "--interval", "0")
	if res.code != 1 {
		t.Errorf("the second daemon exited %d, want 1\n%s", res.code, res.stderr)
	}
	if want := fmt.Sprintf("pid %d", first.cmd.Process.Pid); !strings.Contains(res.stderr, want) {
		t.Errorf("the second daemon does not name the first (%s):\n%s", want, res.stderr)
	}
	st := run(t, nil, bin.pipelined, "status", "--workdir", s.workdir)
	if !strings.Contains(st.stdout, fmt.Sprintf("DAEMON running, pid %d", first.cmd.Process.Pid)) || !strings.Contains(st.stdout, "running") {
		t.Errorf("status beside the daemon:\n%s%s", st.stdout, st.stderr)
	}
	s.enqueue("q", "main", repo.Head())
	waitFor(t, first, time.Minute, "the first daemon's builds did not finish", func() bool { return len(s.finished()) == 2 })
	for _, b := range s.finished() {
		if b.Result != outcome.Success {
			t.Errorf("the first daemon's build ended %s: %s", b.Result, b.Reason)
		}
	}
	first.signal(syscall.SIGINT)
	if code := first.wait(t, time.Minute); code != 0 {
		t.Errorf("the first daemon exited %d\n%s", code, first.stderr())
	}
	if strings.Contains(first.stderr(), "adopted") {
		t.Errorf("a build changed hands:\n%s", first.stderr())
	}
}

// TestUnreachableRemoteIsRetried: a job without a commit needs the remote to say where its
// ref is; a remote that cannot be asked is an infrastructure error, not a failed build.
func TestUnreachableRemoteIsRetried(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	closed := "git://127.0.0.1:9/nothing-listens.git" // the discard port: connection refused
	s.writeConfig("[p]\nremote = %s\n", closed)
	s.enqueue("p", "refs/heads/main")
	p := s.daemon("--interval", "0")
	waitFor(t, p, time.Minute, "the unreachable remote was not retried", func() bool {
		return logCount(p, "build finished", "outcome=retry", "attempt=1") == 1
	})
	if logCount(p, "outcome=retry", "ls-remote") == 0 {
		t.Errorf("the retry does not say what failed:\n%s", p.stderr())
	}
	// The remote answers again (here: the configuration points at one that does).
	s.writeConfig("[p]\nremote = %s\n", repo.Remote)
	p.signal(syscall.SIGHUP)
	waitFor(t, p, time.Minute, "the job did not build once the remote answered", func() bool {
		return s.successes()["p refs/heads/main "+repo.Head()] == 1
	})
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}
