package e2e

// Issue 18, item 6: a signal at any moment of start-up does what it does later, or waits
// until the daemon is ready; it never kills the daemon.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/testenv"
)

// startUpRun is one start of the daemon under a barrage of signals.
type startUpRun struct {
	first syscall.Signal // sent right after exec, before the program can have run at all; 0 for none
	intAt time.Duration  // when SIGINT is sent, after the handlers are in place; afterBarrage: then
}

const afterBarrage = -1

// Bounds of the barrage. barrageFor covers the daemon's whole start-up: on a machine with
// both cores busy it takes some 50 to 150 ms from exec to "started" (the configuration, the
// lock, the spool, the snapshot). barrageEvery sends some 65 signals in that time: far more
// than a signal channel buffers, so that signals that pile up before the main loop reads
// them are tested too.
const (
	barrageFor   = 200 * time.Millisecond
	barrageEvery = 3 * time.Millisecond
)

// TestSignalsDuringStartUpNeverKillTheDaemon: SIGHUP, SIGUSR1 and SIGINT sent from the
// moment of exec and every few milliseconds for the first 200 ms, over several starts: the
// daemon is never killed by one; a SIGINT makes it drain and exit 0, whenever it came.
//
// The one exception is the first signal of three of the starts, sent right after exec:
// until the kernel has loaded the program, the Go runtime has started and the package that
// catches the signals has run (one to three milliseconds of the daemon's CPU time, measured
// on two busy cores), no program written in Go can catch a signal, and SIGHUP, SIGINT (and
// before the runtime's start SIGUSR1) have their default effect: death. Such a death is
// counted and logged, not failed. The test sees when the daemon's handlers are in place
// (signalsCaught) and sends every other signal after that.
func TestSignalsDuringStartUpNeverKillTheDaemon(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	// The remote is polled (SIGUSR1 polls at once) but no branch is built: a drain has
	// nothing to wait for.
	s.writeConfig("[p]\nremote = %s\nbranches = none\n", repo.Remote)
	runs := []startUpRun{
		{syscall.SIGINT, afterBarrage}, {syscall.SIGHUP, afterBarrage}, {syscall.SIGUSR1, 20 * time.Millisecond},
		{0, 0}, {0, 2 * time.Millisecond}, {0, 10 * time.Millisecond}, {0, 40 * time.Millisecond},
		{0, 100 * time.Millisecond}, {0, 150 * time.Millisecond}, {0, afterBarrage},
	}
	early, tried := 0, 0
	for i, r := range runs {
		if r.first != 0 {
			tried++
		}
		if !s.startUnderSignals(t, r) {
			early++
			t.Logf("run %d: the %v sent right after exec killed the daemon", i, r.first)
		}
	}
	t.Logf("%d of %d signals sent right after exec killed the daemon, before a Go program can catch one", early, tried)
}

// startUnderSignals starts the daemon and sends the run's signals. It returns false if the
// first signal killed it before its handlers were in place, and fails the test if any
// other signal did, or if the daemon did not end by its SIGINT drain with exit 0.
func (s *site) startUnderSignals(t *testing.T, r startUpRun) bool {
	t.Helper()
	p := startProcess(t, bin.pipelined, "--config", s.config, "--workdir", s.workdir, "--interval", "60")
	start := time.Now()
	if r.first != 0 {
		p.signal(r.first)
	}
	for deadline := start.Add(time.Minute); !signalsCaught(p.cmd.Process.Pid); {
		if time.Now().After(deadline) {
			t.Fatalf("no thread of the daemon shows os/signal's mask after a minute: has os/signal changed?\n%s", p.stderr())
		}
		if p.exited() {
			p.wait(t, time.Minute)
			if ws := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ws.Signaled() && ws.Signal() == r.first {
				return false
			}
			t.Fatalf("the daemon ended before its signal handlers were in place: %v\n%s", p.cmd.ProcessState, p.stderr())
		}
		time.Sleep(50 * time.Microsecond) // a polling interval, not a wait for an effect
	}
	caught := time.Now()
	intSent := r.first == syscall.SIGINT
	for n := 0; time.Since(start) < barrageFor && !p.exited(); n++ {
		if !intSent && r.intAt != afterBarrage && time.Since(caught) >= r.intAt {
			p.signal(syscall.SIGINT)
			intSent = true
		} else {
			p.signal([]syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1}[n%2])
		}
		// The moments of the signals are the test's input, not a wait for an effect.
		time.Sleep(barrageEvery)
	}
	if !intSent {
		waitFor(t, p, time.Minute, "the daemon did not start", func() bool {
			return strings.Contains(p.stderr(), "msg=started") || p.exited()
		})
		p.signal(syscall.SIGINT)
	}
	// A drain with no build running ends at once; the minute is for a loaded machine.
	p.wait(t, time.Minute)
	if ws := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ws.Signaled() || ws.ExitStatus() != 0 ||
		!strings.Contains(p.stderr(), "draining") || logCount(p, "msg=started") != 1 {
		t.Fatalf("after its handlers were in place: %v, want exit 0 after one start and a drain\n%s", p.cmd.ProcessState, p.stderr())
	}
	return true
}

// signalsCaught reports whether the process pid has asked for its signals: os/signal keeps
// one thread of the program with every signal blocked but those asked for (the signal
// mask of that thread is the one trace of signal.Notify outside the process). A thread that
// blocks SIGUSR2 and not SIGUSR1 is that thread, once SIGUSR1 (the daemon's last) is asked.
func signalsCaught(pid int) bool {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	for _, task := range tasks {
		data, _ := os.ReadFile(task)
		for _, line := range strings.Split(string(data), "\n") {
			if hex, ok := strings.CutPrefix(line, "SigBlk:"); ok {
				mask, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
				if err == nil && mask&sigBit(syscall.SIGUSR2) != 0 && mask&sigBit(syscall.SIGUSR1) == 0 {
					return true
				}
			}
		}
	}
	return false
}

func sigBit(sig syscall.Signal) uint64 { return 1 << (uint(sig) - 1) }
