package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/spool"
	"pipelined/internal/testenv"
)

// waitScript is a callback that says it started (touching NAME.started beside itself) and
// then waits until the test touches NAME.release.
func waitScript(s *site, name string) string {
	path := filepath.Join(s.dir, name)
	return s.file(name, fmt.Sprintf("#!/bin/sh\ntouch %[1]s.started\nwhile [ ! -e %[1]s.release ]; do sleep 0.05; done\n", path), 0o755)
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

// TestRetentionLeavesABuildRunningItsErrorCallback: a build records its result before its
// error_callback runs; until its process ends it is still running, and neither the daemon's
// retention nor `pipelined prune` removes it (which made it fail to record its end and be
// retried: the commit built twice).
func TestRetentionLeavesABuildRunningItsErrorCallback(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	flag := filepath.Join(s.dir, "fail-once")
	failOnce := s.file("fail-once.sh", fmt.Sprintf("#!/bin/sh\n[ -e %[1]s ] || exit 0\nrm %[1]s\nexit 1\n", flag), 0o755)
	onError := waitScript(s, "on-error")
	s.writeConfig("[p]\nremote = %s\nwatch = False\nkeep_builds = 1\nsupersede = False\nserialize = False\nprepare_callback = %s\nerror_callback = %s\n",
		repo.Remote, failOnce, onError)
	os.WriteFile(flag, nil, 0o644)
	// Without a commit: the build resolves it, and the rebuild below is no duplicate of it.
	os.MkdirAll(filepath.Join(s.workdir, ".pipelined", "spool", "new"), 0o755)
	s.dropJob("first.job", `{"project":"p","ref":"refs/heads/main","source":"manual"}`)
	p := s.daemon("--limit", "2", "--interval", "0")
	waitFor(t, p, time.Minute, "the failed build's error_callback did not start", func() bool { return exists(onError + ".started") })
	failed := s.onlyBuild("p")

	// The same commit again: it succeeds, and retention (keep_builds = 1) runs.
	s.enqueue("--rebuild", "p", "main", repo.Head())
	waitFor(t, p, time.Minute, "the second build did not succeed", func() bool { return s.hasBuild("p", "refs/heads/main", repo.Head()) })
	waitFor(t, p, time.Minute, "the second build's end was not settled", func() bool {
		return logCount(p, "build finished", "outcome=done") == 1
	})
	if res := run(t, nil, bin.pipelined, "prune", "--config", s.config, "--workdir", s.workdir); res.code != 0 {
		t.Fatalf("prune: exit %d\n%s", res.code, res.stderr)
	}
	if !exists(failed) {
		t.Fatalf("retention removed %s while its error_callback ran\n%s", failed, p.stderr())
	}

	os.WriteFile(onError+".release", nil, 0o644)
	waitFor(t, p, time.Minute, "the failed build's end was not settled", func() bool {
		return logCount(p, "build finished", "outcome=") == 2
	})
	if n := logCount(p, "build finished", "outcome=done"); n != 2 {
		t.Errorf("want both builds done, have %d:\n%s", n, p.stderr())
	}
	if q := append(s.jobsIn(spool.New), s.jobsIn(spool.Cur)...); len(q) != 0 {
		t.Errorf("a job is left to run again: %v", q)
	}
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}

// TestNothingOutlivesABuildKilledDuringItsErrorCallback: what error_callback runs dies with
// the build, when the build is killed after it recorded its result (SIGKILL under the
// daemon) or told twice to stop (by hand).
func TestNothingOutlivesABuildKilledDuringItsErrorCallback(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	tag := fmt.Sprintf("%d", 4000+os.Getpid()%1000)
	started := filepath.Join(s.dir, "callback.started")
	onError := s.file("on-error.sh", fmt.Sprintf("#!/bin/sh\ntrap '' TERM\ntouch %s\nsleep 5%s &\nsleep 5%s\n", started, tag, tag), 0o755)
	prepare := waitScript(s, "prepare")
	s.writeConfig("[p]\nremote = %s\nwatch = False\nprepare_callback = %s\nerror_callback = %s\n\n[q]\nremote = %s\nwatch = False\nprepare_callback = /bin/false\nerror_callback = %s\n",
		repo.Remote, prepare, onError, repo.Remote, onError)
	callbacks := func() int { return len(testenv.ProcessesMentioning("sleep\x005" + tag)) }

	// Under the daemon: the build fails, and is killed while its callback runs.
	s.enqueue("q", "main")
	p := s.daemon("--interval", "0")
	waitFor(t, p, time.Minute, "the callback did not start", func() bool { return exists(started) && callbacks() == 2 })
	syscall.Kill(pidOf(t, "pipeline-build", s.workdir), syscall.SIGKILL)
	waitFor(t, p, time.Minute, "the callback outlived the killed build", func() bool { return callbacks() == 0 })
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)

	// By hand: the first SIGTERM cancels (error_callback runs, ignoring SIGTERM), the second
	// ends the build at once, and its callback with it, well within the grace period.
	os.Remove(started)
	b := startProcess(t, bin.build, "--config", s.config, "--workdir", s.workdir, "--grace", "10m", "p", "main")
	testenv.Eventually(t, time.Minute, "the step did not start", func() bool { return exists(prepare + ".started") })
	b.signal(syscall.SIGTERM)
	testenv.Eventually(t, time.Minute, "the callback did not start", func() bool { return exists(started) && callbacks() == 2 })
	b.signal(syscall.SIGTERM)
	b.wait(t, time.Minute) // well before the grace period (10m) ends
	testenv.Eventually(t, time.Minute, "the callback outlived the build told twice to stop", func() bool { return callbacks() == 0 })
}

// TestOperatorCancelOfAnAdoptedBuildIsNotRebuilt: an operator's SIGTERM to a build that a
// restarted daemon adopted is a cancel, as it is for the daemon's own builds; a build the
// shutdown canceled is built again, even when it ends after the daemon.
func TestOperatorCancelOfAnAdoptedBuildIsNotRebuilt(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	prepare := waitScript(s, "prepare")
	s.writeConfig("[p]\nremote = %s\nwatch = False\nprepare_callback = %s\n", repo.Remote, prepare)
	s.enqueue("p", "main")
	p := s.daemon("--interval", "0")
	waitFor(t, p, time.Minute, "the step did not start", func() bool { return exists(prepare + ".started") })
	p.cmd.Process.Kill() // kill -9: the build runs on
	p.wait(t, time.Minute)
	p = s.daemon("--interval", "0")
	waitFor(t, p, time.Minute, "the build was not adopted", func() bool { return strings.Contains(p.stderr(), "adopted a running build") })
	syscall.Kill(pidOf(t, "pipeline-build", s.workdir), syscall.SIGTERM)
	waitFor(t, p, time.Minute, "the canceled build was not settled", func() bool { return logCount(p, "build finished") == 1 })
	if logCount(p, "build finished", "outcome=withdrawn") != 1 {
		t.Errorf("the operator's cancel of an adopted build was not a withdrawal:\n%s", p.stderr())
	}
	if q := append(s.jobsIn(spool.New), s.jobsIn(spool.Cur)...); len(q) != 0 {
		t.Errorf("the canceled job is left to run again: %v", q)
	}

	// A shutdown cancels a build whose error_callback ignores SIGTERM past the daemon's exit
	// deadline: the next daemon settles it, and builds the commit again.
	slow := waitScript(s, "slow")
	stuck := s.file("stuck.sh", "#!/bin/sh\ntrap '' TERM\nsleep 300\n", 0o755)
	s.writeConfig("[p]\nremote = %s\nwatch = False\nprepare_callback = %s\nerror_callback = %s\n", repo.Remote, slow, stuck)
	p.signal(syscall.SIGHUP)
	waitFor(t, p, time.Minute, "the configuration was not reloaded", func() bool { return strings.Contains(p.stderr(), "configuration reloaded") })
	s.enqueue("p", "main")
	waitFor(t, p, time.Minute, "the step did not start", func() bool { return exists(slow + ".started") })
	p.signal(syscall.SIGTERM)
	p.wait(t, time.Minute)
	os.WriteFile(slow+".release", nil, 0o644)
	p = s.daemon("--interval", "0", "--grace", "2s")
	waitFor(t, p, time.Minute, "the build the shutdown canceled was not built again", func() bool {
		return s.hasBuild("p", "refs/heads/main", repo.Head())
	})
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}

// TestWorkDirectoryUnwritableWhenABuildEndsLosesNothing: the work directory cannot be
// written while a build ends (a read-only remount, permissions gone wrong), so that neither
// the build nor the daemon can record its end or move its job. Once it can be written
// again, the daemon finishes what it could not do: the job is built, and no build.json is
// left saying running.
func TestWorkDirectoryUnwritableWhenABuildEndsLosesNothing(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	prepare := waitScript(s, "prepare")
	s.writeConfig("[p]\nremote = %s\nwatch = False\nprepare_callback = %s\n", repo.Remote, prepare)
	s.enqueue("p", "main", repo.Head())
	// --rescan 5: what the unwritable disk kept from being done is tried again every 5 s,
	// not every minute.
	p := s.daemonWithoutDAC("--interval", "0", "--rescan", "5")
	waitFor(t, p, time.Minute, "the step did not start", func() bool { return exists(prepare + ".started") })
	spoolDir := filepath.Join(s.workdir, ".pipelined", "spool")
	dirs := []string{filepath.Join(spoolDir, "new"), filepath.Join(spoolDir, "cur"), s.onlyBuild("p"), filepath.Dir(s.onlyBuild("p"))}
	chmod := func(mode os.FileMode) {
		for _, d := range dirs {
			if err := os.Chmod(d, mode); err != nil {
				t.Fatal(err)
			}
		}
	}
	chmod(0o555)
	t.Cleanup(func() { chmod(0o755) })
	os.WriteFile(prepare+".release", nil, 0o644)
	waitFor(t, p, time.Minute, "the build's end was not settled", func() bool { return logCount(p, "build finished") >= 1 })
	if q := append(s.jobsIn(spool.New), s.jobsIn(spool.Cur)...); len(q) != 1 {
		t.Fatalf("the job is not kept: new/ and cur/ hold %v", q)
	}
	chmod(0o755)
	waitFor(t, p, 3*time.Minute, "the job was not built once the work directory was writable", func() bool {
		return s.hasBuild("p", "refs/heads/main", repo.Head())
	})
	waitFor(t, p, 2*time.Minute, "a build.json still says running", func() bool { return len(s.runningStatuses()) == 0 })
	waitFor(t, p, time.Minute, "the job was left in the spool", func() bool {
		return len(s.jobsIn(spool.New))+len(s.jobsIn(spool.Cur)) == 0
	})
	if n := s.successes()["p refs/heads/main "+repo.Head()]; n != 1 {
		t.Errorf("the commit was built %d times, want once", n)
	}
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}

// TestRetryOfAJobWithoutACommitBuildsTheSameCommit: a job that names no commit builds what
// the branch holds when it starts; once its build resolved the commit, a retry is that
// same build again, even when the branch has moved on.
func TestRetryOfAJobWithoutACommitBuildsTheSameCommit(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	first := repo.Head()
	prepare := waitScript(s, "prepare")
	s.writeConfig("[p]\nremote = %s\nwatch = False\nprepare_callback = %s\n", repo.Remote, prepare)
	os.MkdirAll(filepath.Join(s.workdir, ".pipelined", "spool", "new"), 0o755)
	s.dropJob("no-commit.job", `{"project":"p","ref":"refs/heads/main","source":"webhook"}`)
	p := s.daemon("--interval", "0")
	waitFor(t, p, time.Minute, "the step did not start", func() bool { return exists(prepare + ".started") })
	repo.Commit("moved on", nil)
	repo.Push("main")
	syscall.Kill(pidOf(t, "pipeline-build", s.workdir), syscall.SIGKILL)
	waitFor(t, p, time.Minute, "the killed build was not retried", func() bool { return logCount(p, "build finished", "outcome=retry") == 1 })
	if q := s.queued(); len(q) != 1 || !strings.HasSuffix(q[0], " "+first) {
		t.Errorf("the retried job is %v, want it pinned to %s", q, first[:8])
	}
	os.WriteFile(prepare+".release", nil, 0o644)
	waitFor(t, p, time.Minute, "the retry did not build the first commit", func() bool { return s.hasBuild("p", "refs/heads/main", first) })
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}

// TestShutdownThatCannotRequeueLosesNothing: the daemon shuts down while spool/new/ cannot
// be written, so the canceled build's job stays in cur/; the next daemon builds it again
// (the stop marker stays with the job until it has moved).
func TestShutdownThatCannotRequeueLosesNothing(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	prepare := waitScript(s, "prepare")
	s.writeConfig("[p]\nremote = %s\nwatch = False\nprepare_callback = %s\n", repo.Remote, prepare)
	s.enqueue("p", "main", repo.Head())
	p := s.daemonWithoutDAC("--interval", "0", "--grace", "2s")
	waitFor(t, p, time.Minute, "the step did not start", func() bool { return exists(prepare + ".started") })
	newDir := filepath.Join(s.workdir, ".pipelined", "spool", "new")
	os.Chmod(newDir, 0o555)
	t.Cleanup(func() { os.Chmod(newDir, 0o755) })
	p.signal(syscall.SIGTERM)
	p.wait(t, time.Minute)
	if q := s.jobsIn(spool.Cur); len(q) != 1 {
		t.Fatalf("the canceled job is not kept in cur/: %v\n%s", q, p.stderr())
	}
	os.Chmod(newDir, 0o755)
	os.WriteFile(prepare+".release", nil, 0o644)
	p = s.daemon("--interval", "0")
	waitFor(t, p, time.Minute, "the build the shutdown canceled was not built after the restart", func() bool {
		return s.hasBuild("p", "refs/heads/main", repo.Head())
	})
	if logCount(p, "outcome=withdrawn") != 0 {
		t.Errorf("the job was withdrawn:\n%s", p.stderr())
	}
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}

// TestAStepKilledByASignalSaysWhich: a step that dies of a signal is recorded as "killed by
// signal 9 (SIGKILL)", in build.log and in build.json's reason.
func TestAStepKilledByASignalSaysWhich(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	selfKill := s.file("self-kill.sh", "#!/bin/sh\nkill -9 $$\n", 0o755)
	s.writeConfig("[p]\nremote = %s\nprepare_callback = %s\n", repo.Remote, selfKill)
	if res := s.build("p", "main"); res.code != 1 {
		t.Fatalf("pipeline-build: exit %d, want 1\n%s", res.code, res.stderr)
	}
	dir := s.onlyBuild("p")
	if log := readFile(t, filepath.Join(dir, "build.log")); !strings.Contains(log, "==> killed by signal 9 (SIGKILL) after") {
		t.Errorf("build.log does not say which signal:\n%s", log)
	}
	if st := status(t, dir); !strings.HasSuffix(st.Reason, "was killed by signal 9 (SIGKILL)") {
		t.Errorf("build.json's reason is %q", st.Reason)
	}
}
