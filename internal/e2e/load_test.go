package e2e

// Issue 18, item 9: every end-to-end test passes while another process keeps the CPUs busy.
// make test runs the tests that bound a time in a pass of their own, beside a CPU hog that
// TestMain starts (PIPELINED_E2E_LOAD), and the others in its first pass.

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// loadEnv selects the tests of a run and its load:
//
//	(unset)  every test, with nothing else running (go test ./... by hand)
//	apart    every test but the timing-sensitive ones (make test's first pass)
//	hog      only the timing-sensitive ones, beside a process that keeps every CPU busy
//	         (make test's second pass); a -run given on the command line still wins
const loadEnv = "PIPELINED_E2E_LOAD"

// hogChildEnv makes the test binary the CPU hog itself (the helper-process pattern).
const hogChildEnv = "PIPELINED_E2E_HOG_CHILD"

// binEnv names a directory of pipelined, pipeline-watch and pipeline-build built elsewhere
// (an older commit, an installed release) to test instead of this tree's: a test of an
// issue can be shown to fail on the commit before its fix.
const binEnv = "PIPELINED_E2E_BIN"

// timingTests are the end-to-end tests that assert a bound on time (an exit deadline, the
// grace period, a poll timeout, a settling deadline) or send signals at chosen moments:
// what a busy machine could break. Each bound in them says why it is what it is.
var timingTests = []string{
	"TestConfigBombsThroughTheBinaries",
	"TestDaemonCancelsOnSIGTERM",
	"TestSignalCancelsTheBuild",
	"TestPollNow",
	"TestHostileSpoolFilesAreSetAside",
	"TestNothingOutlivesAKilledBuild",
	"TestABlockedLogDelaysNothing",
	"TestKillSoakLosesAndRepeatsNothing",
	"TestWatchHangingRemoteDelaysNoOther",
	"TestWatchCopesWithAHangingRemote",
	"TestWatchCopesWithAHungHTTPSRemote",
	"TestWatchReloadsOnSIGHUPAndStopsAtOnceOnSIGTERM",
	"TestSignalsDuringStartUpNeverKillTheDaemon",
	"TestDeploySoakEndsEachRefOnItsNewestCommit",
	"TestDaemonHangingRemoteDelaysNoOther",
}

// hogChild is the CPU hog's body: one busy loop per CPU, until its parent (the test
// binary) is gone.
func hogChild() {
	parent := os.Getppid()
	for range hogLoops() - 1 {
		go spin()
	}
	for os.Getppid() == parent {
		deadline := time.Now().Add(100 * time.Millisecond)
		for time.Now().Before(deadline) {
		}
	}
	os.Exit(0)
}

// hogLoops is how many busy loops the hog runs: one per CPU, and at least two (the issue's
// machine had two cores, both busy).
func hogLoops() int { return max(2, runtime.NumCPU()) }

func spin() {
	for {
	}
}

// selectLoad applies PIPELINED_E2E_LOAD: it narrows the tests of the run and, for hog,
// starts the hog. It returns the function that stops it.
func selectLoad() (stop func(), err error) {
	flag.Parse()
	pattern := "^(" + strings.Join(timingTests, "|") + ")$"
	switch mode := os.Getenv(loadEnv); mode {
	case "":
		return func() {}, nil
	case "apart":
		return func() {}, flag.Set("test.skip", pattern)
	case "hog":
		if flag.Lookup("test.run").Value.String() == "" {
			if err := flag.Set("test.run", pattern); err != nil {
				return nil, err
			}
		}
		return startHog()
	default:
		return nil, fmt.Errorf("%s=%q: want apart or hog", loadEnv, mode)
	}
}

// startHog starts the test binary again as a process that keeps every CPU busy (at least
// two busy loops). The kernel kills it should the test binary die first.
func startHog() (stop func(), err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), hogChildEnv+"=1", fmt.Sprintf("GOMAXPROCS=%d", hogLoops()))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "e2e: a CPU hog (pid %d) runs %d busy loops during the tests\n", cmd.Process.Pid, hogLoops())
	return func() { cmd.Process.Kill(); cmd.Wait() }, nil
}

// binariesFrom points the tests at the binaries in dir.
func binariesFrom(dir string) {
	bin.pipelined = filepath.Join(dir, "pipelined")
	bin.watch = filepath.Join(dir, "pipeline-watch")
	bin.build = filepath.Join(dir, "pipeline-build")
}

// TestTimingTestsAreNamedRight: every name in timingTests is a test of this package, so
// that none of them silently misses its pass beside the hog.
func TestTimingTestsAreNamedRight(t *testing.T) {
	files, _ := filepath.Glob("*_test.go")
	var src strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(data)
	}
	for _, name := range timingTests {
		if !strings.Contains(src.String(), "\nfunc "+name+"(t *testing.T) {") {
			t.Errorf("timingTests names %s, which is no test of internal/e2e", name)
		}
	}
}
