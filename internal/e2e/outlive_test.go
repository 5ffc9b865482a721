package e2e

// Nothing a build starts outlives it, and nothing that hangs (an engine, a log reader)
// delays the daemon (SPEC §8).

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

// TestNothingOutlivesAKilledBuild: the grandchildren of a step (a callback's background
// job) die with a SIGKILLed pipeline-build, and at shutdown with an error_callback that
// ignores SIGTERM.
func TestNothingOutlivesAKilledBuild(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	tag := fmt.Sprintf("%d", 3000+os.Getpid()%1000)
	// A child in the step's group, and one that leaves it (setsid).
	prepare := s.file("prepare.sh", "#!/bin/sh\nsleep 1"+tag+" &\nsetsid sleep 3"+tag+" </dev/null >/dev/null 2>&1 &\nsleep 1"+tag+"\n", 0o755)
	onError := s.file("on-error.sh", "#!/bin/sh\ntrap '' TERM\nsleep 2"+tag+" &\nsleep 2"+tag+"\n", 0o755)
	s.writeConfig("[p]\nremote = %s\nprepare_callback = %s\nerror_callback = %s\n", repo.Remote, prepare, onError)
	s.enqueue("p", "main")
	const grace = 2 * time.Second
	p := s.daemon("--interval", "0", "--grace", grace.String())
	waitFor(t, p, time.Minute, "the step did not start its children", func() bool {
		return len(testenv.ProcessesMentioning("sleep\x001"+tag)) == 2
	})
	syscall.Kill(pidOf(t, "pipeline-build", s.workdir), syscall.SIGKILL)
	killed := time.Now()
	testenv.Eventually(t, time.Minute, "the step's processes outlived the killed build", func() bool {
		return len(testenv.ProcessesMentioning("sleep\x001"+tag))+len(testenv.ProcessesMentioning("sleep\x003"+tag)) == 0
	})
	if took := time.Since(killed); took > grace+time.Second {
		t.Errorf("the step's processes lived %v after the build was killed; the budget is the grace plus a second", took)
	}

	// The retry runs the step again; a shutdown cancels it, and error_callback ignores
	// SIGTERM and leaves a child of its own.
	testenv.Eventually(t, time.Minute, "the retry did not start", func() bool {
		return len(testenv.ProcessesMentioning("sleep\x001"+tag)) == 2
	})
	p.signal(syscall.SIGTERM)
	sent := time.Now()
	p.wait(t, time.Minute)
	testenv.Eventually(t, time.Minute, "processes outlived the shutdown", func() bool {
		return len(testenv.ProcessesMentioning("sleep\x001"+tag))+len(testenv.ProcessesMentioning("sleep\x002"+tag))+
			len(testenv.ProcessesMentioning("sleep\x003"+tag)) == 0
	})
	// SPEC §8: nothing outlives the exit deadline, the grace plus a second; the half second
	// above it is the test's side: listing the processes of the machine after the exit.
	if took := time.Since(sent); took > grace+time.Second+500*time.Millisecond {
		t.Errorf("processes lived %v after SIGTERM; the budget is the grace plus a second", took)
	}
}

// TestNothingOutlivesASuccessfulBuild: a step that detaches a process (setsid, as a daemon
// would) does not leave it behind when the build ends well.
func TestNothingOutlivesASuccessfulBuild(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	tag := fmt.Sprintf("4%d", 3000+os.Getpid()%1000)
	spawn := s.file("spawn.sh", "#!/bin/sh\nsetsid sleep "+tag+" </dev/null >/dev/null 2>&1 &\n", 0o755)
	s.writeConfig("[p]\nremote = %s\nprepare_callback = %s\n", repo.Remote, spawn)
	if res := s.build("p", "main"); res.code != 0 {
		t.Fatalf("build: exit %d\n%s", res.code, res.stderr)
	}
	testenv.Eventually(t, 10*time.Second, "the detached process outlived the build", func() bool {
		return len(testenv.ProcessesMentioning("sleep\x00"+tag)) == 0
	})
}

// TestHungDockerEngineDelaysNothing: an engine that never answers does not hold up the
// start, the builds of projects without Docker or SIGTERM; without any Docker project the
// engine is not asked at all.
func TestHungDockerEngineDelaysNothing(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	sock := filepath.Join(s.dir, "hung.sock")
	testenv.HangingUnixServer(t, sock)
	// A docker on PATH that records each call, then runs the real one.
	real, err := exec.LookPath("docker")
	if err != nil {
		testenv.Require(t, "docker")
	}
	calls := filepath.Join(s.dir, "docker-calls")
	shim := s.file("shim/docker", fmt.Sprintf("#!/bin/sh\necho \"$*\" >> %s\nexec %s \"$@\"\n", calls, real), 0o755)
	env := []string{"DOCKER_HOST=unix://" + sock, "PATH=" + filepath.Dir(shim) + ":" + os.Getenv("PATH")}

	for _, withDocker := range []bool{false, true} {
		os.Remove(calls)
		cfg := fmt.Sprintf("[plain]\nremote = %s\n", repo.Remote)
		if withDocker {
			cfg += fmt.Sprintf("\n[image]\nremote = %s\nbuild = True\n", repo.Remote)
		}
		s.writeConfig("%s", cfg)
		started := time.Now()
		p := startProcessEnv(t, env, bin.pipelined, "--config", s.config, "--workdir", s.workdir, "--interval", "0", "--grace", "2s")
		testenv.Eventually(t, 30*time.Second, "pipelined did not start", func() bool { return strings.Contains(p.stderr(), "msg=started") })
		if took := time.Since(started); took > 5*time.Second {
			t.Errorf("docker=%v: start-up took %v beside a hung engine", withDocker, took)
		}
		commit := repo.Commit(fmt.Sprintf("docker=%v", withDocker), nil)
		repo.Push("main")
		s.enqueue("plain", "main", commit)
		waitFor(t, p, time.Minute, "the plain build did not run", func() bool { return s.successes()["plain refs/heads/main "+repo.Head()] == 1 })
		if withDocker {
			waitFor(t, p, time.Minute, "the hung engine is not reported as not answering", func() bool {
				return strings.Contains(p.stderr(), "no answer to docker version within 15s")
			})
		}
		sent := time.Now()
		p.signal(syscall.SIGTERM)
		if code := p.wait(t, time.Minute); code != 0 {
			t.Errorf("exit %d\n%s", code, p.stderr())
		}
		if took := time.Since(sent); took > 3*time.Second {
			t.Errorf("docker=%v: SIGTERM took %v beside a hung engine", withDocker, took)
		}
		_, err := os.Stat(calls)
		if asked := err == nil; asked != withDocker {
			t.Errorf("docker=%v: the engine was asked: %v", withDocker, asked)
		}
	}
}

// TestABlockedLogDelaysNothing: the daemon's stderr goes to a pipe nobody reads (a stalled
// journald): it goes on dispatching, and SIGTERM still ends it in time.
func TestABlockedLogDelaysNothing(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[p]\nremote = %s\n", repo.Remote)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close() // never read: the pipe fills, and writes to it would block
	cmd := exec.Command(bin.pipelined, "--config", s.config, "--workdir", s.workdir, "--interval", "0", "--grace", "2s")
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	testenv.Eventually(t, time.Minute, "the daemon did not start", func() bool {
		_, err := os.Stat(filepath.Join(s.workdir, ".pipelined", "spool", "new"))
		return err == nil
	})
	// Enough refused jobs to fill the pipe many times over with log lines.
	for i := 0; i < 600; i++ {
		s.dropJob(fmt.Sprintf("unknown-%03d.job", i), fmt.Sprintf(`{"project":"nope","ref":"refs/heads/x%d"}`, i))
	}
	s.dropJob("valid.job", fmt.Sprintf(`{"project":"p","ref":"refs/heads/main","commit":%q}`, repo.Head()))
	testenv.Eventually(t, 2*time.Minute, "the daemon stopped dispatching behind its blocked log", func() bool {
		return s.successes()["p refs/heads/main "+repo.Head()] == 1
	})
	sent := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("SIGTERM was not acted on while the log was blocked")
	}
	// SPEC §8: exit within the grace (2 s) plus a second, whatever the log does; the half
	// second above it is the test's side, as in TestHostileSpoolFilesAreSetAside.
	if took := time.Since(sent); took > 3500*time.Millisecond {
		t.Errorf("exit %v after SIGTERM; the deadline is the grace (2s) plus a second", took)
	}
}
