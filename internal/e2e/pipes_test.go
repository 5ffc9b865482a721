package e2e

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/testenv"
)

// TestDaemonOutlivesItsLogReader: whatever reads the daemon's stderr may go away (a
// `| tee` that ended, a closed ssh session); the daemon and its watcher go on building.
func TestDaemonOutlivesItsLogReader(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[p]\nremote = %s\nbranches = main\n", repo.Remote)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // every line the daemon logs now meets a pipe without a reader
	cmd := exec.Command(bin.pipelined, "--config", s.config, "--workdir", s.workdir, "--interval", "1")
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var waitErr error
	done := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
		}
	})
	alive := func() bool {
		select {
		case <-done:
			t.Fatalf("pipelined died with its log reader gone: %v", waitErr)
		default:
		}
		return true
	}

	// The watcher finds main, the daemon builds it; then a push, noticed and built.
	testenv.Eventually(t, time.Minute, "main was not built", func() bool { return alive() && len(s.finished()) == 1 })
	pushed := repo.Commit("pushed", nil)
	repo.Push("main")
	testenv.Eventually(t, time.Minute, "the pushed commit was not built", func() bool {
		return alive() && s.hasBuild("p", "refs/heads/main", pushed)
	})
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-done:
		if waitErr != nil {
			t.Errorf("the drain ended with %v, want exit 0", waitErr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("pipelined did not drain")
	}
}

// TestBuildCommandsStartWithDefaultSignals: a build's commands run as they would when
// typed. pipeline-build survives a closed stderr by catching SIGPIPE, not by ignoring it:
// an ignored signal would stay ignored in every command it starts.
func TestBuildCommandsStartWithDefaultSignals(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[p]\nremote = %s\nbranches = main\nsuccess_callback = grep SigIgn /proc/self/status\n", repo.Remote)
	if res := s.build("p", "main"); res.code != 0 {
		t.Fatalf("pipeline-build: exit %d\n%s", res.code, res.stderr)
	}
	log := readFile(t, s.onlyBuild("p")+"/build.log")
	m := regexp.MustCompile(`SigIgn:\s+([0-9a-f]+)`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("the callback's SigIgn line is not in build.log:\n%s", log)
	}
	ignored, err := strconv.ParseUint(m[1], 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	if pipe := uint64(1) << (syscall.SIGPIPE - 1); ignored&pipe != 0 {
		t.Errorf("the build's command started with SIGPIPE ignored (SigIgn %s)", m[1])
	}
}
