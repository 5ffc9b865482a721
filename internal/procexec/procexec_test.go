package procexec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/testenv"
)

// The test binary doubles as the child process: PROCEXEC_HELPER chooses what it does.
func TestMain(m *testing.M) {
	switch os.Getenv("PROCEXEC_HELPER") {
	case "":
		os.Exit(m.Run())
	case "exit3":
		os.Exit(3)
	case "sleep":
		<-time.After(time.Hour) // a child that runs until it is killed
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		<-time.After(time.Hour) // a child that runs until it is killed
	case "fork-sleep":
		// A grandchild in the same process group, then sleep: cancel must end both.
		child := exec.Command(os.Args[0])
		child.Env = []string{"PROCEXEC_HELPER=ignore-term"}
		child.Stdout = os.Stdout
		if err := child.Start(); err != nil {
			os.Exit(9)
		}
		fmt.Printf("grandchild %d\n", child.Process.Pid)
		<-time.After(time.Hour) // a child that runs until it is killed
	case "leak-output":
		// A grandchild that keeps stdout open after this process has exited.
		child := exec.Command(os.Args[0])
		child.Env = []string{"PROCEXEC_HELPER=sleep"}
		child.Stdout = os.Stdout
		_ = child.Start()
		fmt.Printf("grandchild %d\n", child.Process.Pid)
		os.Exit(0)
	case "env":
		fmt.Print(strings.Join(os.Environ(), "\n"))
	}
	os.Exit(0)
}

func helper(mode string) Cmd {
	return Cmd{Argv: []string{os.Args[0], "-test.run=NONE"}, Env: []string{"PROCEXEC_HELPER=" + mode}}
}

func groupGone(pgid int) bool { return errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) }

func pidGone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

func grandchildPid(t *testing.T, out *testenv.Buffer) int {
	t.Helper()
	var pid int
	testenv.Eventually(t, 10*time.Second, "the helper did not report its grandchild", func() bool {
		for _, line := range strings.Split(out.String(), "\n") {
			if rest, ok := strings.CutPrefix(line, "grandchild "); ok {
				pid, _ = strconv.Atoi(rest)
				return pid > 0
			}
		}
		return false
	})
	return pid
}

func TestRunReportsExitStatus(t *testing.T) {
	res, err := Run(t.Context(), helper("exit3"))
	var exit *ExitError
	if !errors.As(err, &exit) || exit.Code != 3 || res.ExitCode != 3 {
		t.Fatalf("Run = %+v, %v; want exit status 3", res, err)
	}
}

func TestRunPassesExactlyTheGivenEnvironment(t *testing.T) {
	var out testenv.Buffer
	c := helper("env")
	c.Env = append(c.Env, "ONLY_THIS=1")
	c.Output = &out
	if _, err := Run(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "PROCEXEC_HELPER=env\nONLY_THIS=1" {
		t.Errorf("child environment = %q", got)
	}
}

func TestCancelKillsTheWholeGroup(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var out testenv.Buffer
	c := helper("fork-sleep")
	c.Output = &out
	c.Grace = 500 * time.Millisecond
	p, err := Start(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	grandchild := grandchildPid(t, &out)
	cancel()
	start := time.Now()
	res, err := p.Wait()
	if !errors.Is(err, ErrCanceled) || !res.Canceled || res.TimedOut {
		t.Fatalf("Wait = %+v, %v; want canceled", res, err)
	}
	// The grandchild ignores SIGTERM: only the SIGKILL after the grace period ends it.
	if waited := time.Since(start); waited > c.Grace+2*time.Second {
		t.Errorf("Wait took %v, want about the grace period %v", waited, c.Grace)
	}
	testenv.Eventually(t, 5*time.Second, "the process group survived the cancel", func() bool {
		return groupGone(p.Pid) && pidGone(grandchild)
	})
}

func TestTimeoutIsReportedApartFromCancel(t *testing.T) {
	c := helper("sleep")
	c.Timeout = 200 * time.Millisecond
	res, err := Run(t.Context(), c)
	if !errors.Is(err, ErrTimedOut) || !res.TimedOut || res.Canceled {
		t.Fatalf("Run = %+v, %v; want timed out", res, err)
	}
	if !groupGone(res.Pid) {
		t.Error("the process group survived the timeout")
	}
}

func TestLeftoverGrandchildIsKilledWhenTheCommandEnds(t *testing.T) {
	var out testenv.Buffer
	c := helper("leak-output")
	c.Output = &out
	c.Grace = 300 * time.Millisecond
	res, err := Run(t.Context(), c)
	if err != nil {
		t.Fatalf("Run = %+v, %v; a command that exits 0 succeeds even if a grandchild holds its output", res, err)
	}
	grandchild := grandchildPid(t, &out)
	testenv.Eventually(t, 5*time.Second, "the grandchild outlived its command", func() bool { return pidGone(grandchild) })
}

func TestStartFailureIsNotAnExitError(t *testing.T) {
	_, err := Run(t.Context(), Cmd{Argv: []string{"/nonexistent/program"}})
	var exit *ExitError
	if err == nil || errors.As(err, &exit) {
		t.Fatalf("Run = %v, want a start error", err)
	}
}

func TestPromptQuotesForAShell(t *testing.T) {
	got := Prompt([]string{"git", "-C", "/a b", "clone", "--", "it's"})
	want := `$ git -C '/a b' clone -- 'it'"'"'s'`
	if got != want {
		t.Errorf("Prompt = %s, want %s", got, want)
	}
}

func TestGroupKillsWhatALeaderLeftBehind(t *testing.T) {
	// A leader that starts a grandchild in its group and exits: the grandchild is what a
	// killed build leaves; the recorded group finds it.
	cmd := exec.Command("sh", "-c", "sleep 300 & echo $!")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	g, err := GroupOf(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	var child int
	fmt.Fscan(out, &child)
	cmd.Wait()
	childStart, err := StartTime(child)
	if err != nil || !Alive(child, childStart) {
		t.Fatalf("the grandchild %d is not running: %v", child, err)
	}
	if Alive(g.PGID, g.Start) {
		t.Error("the reaped leader still counts as alive")
	}
	if err := g.Kill(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for Alive(child, childStart) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling for the kill to land, not waiting for an effect
	}
	if Alive(child, childStart) {
		t.Error("the grandchild survived the group kill")
	}
	// A group whose id now belongs to another process (another start time) is left alone.
	self, _ := GroupOf(os.Getpid())
	self.Start++
	if err := self.Kill(syscall.SIGKILL); err != nil {
		t.Errorf("Kill of a reused id: %v", err)
	}
}

func TestKillByEnvFindsWhatLeftItsGroup(t *testing.T) {
	marker := fmt.Sprintf("/tmp/kill-by-env-%d", os.Getpid())
	// setsid: a new session and group, out of reach of a group kill.
	cmd := exec.Command("setsid", "sleep", "300")
	cmd.Env = append(os.Environ(), "BUILD_RUN_PATH="+marker)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	testenv.Eventually(t, 10*time.Second, "the process did not start", func() bool {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", cmd.Process.Pid))
		return strings.Contains(string(data), marker)
	})
	if n := KillByEnv("BUILD_RUN_PATH", marker+"-other"); n != 0 {
		t.Errorf("killed %d processes of another build", n)
	}
	if n := KillByEnv("BUILD_RUN_PATH", marker); n != 1 {
		t.Errorf("killed %d processes, want 1", n)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the process outlived KillByEnv")
	}
}

// TestGraceOrAppliesTheDefaultOnlyWhenUnset: 0 and below mean "not set".
func TestGraceOrAppliesTheDefaultOnlyWhenUnset(t *testing.T) {
	for _, tc := range []struct{ in, want time.Duration }{
		{0, DefaultGrace}, {-time.Second, DefaultGrace}, {time.Millisecond, time.Millisecond}, {time.Minute, time.Minute},
	} {
		if got := GraceOr(tc.in); got != tc.want {
			t.Errorf("GraceOr(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestEndedTextIsTheOneWordingOfAnEnding: a signal wins over the exit status -1 it comes with.
func TestEndedTextIsTheOneWordingOfAnEnding(t *testing.T) {
	if got := EndedText(2, 0); got != "exited with status 2" {
		t.Errorf("EndedText(2, 0) = %q", got)
	}
	if got := EndedText(-1, syscall.SIGKILL); got != "was killed by signal 9 (SIGKILL)" {
		t.Errorf("EndedText(-1, SIGKILL) = %q", got)
	}
	e := &ExitError{Argv: []string{"rsync", "-a"}, Code: 11}
	if got := e.Error(); got != "rsync exited with status 11" {
		t.Errorf("ExitError = %q", got)
	}
}

func TestFindByArgsFindsAProcessByItsCommandLine(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 60; :", "find-by-args", "--job", "x")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	testenv.Eventually(t, 10*time.Second, "the process was not found", func() bool {
		pid, start, ok := FindByArgs("--job", "x")
		return ok && pid == cmd.Process.Pid && Alive(pid, start)
	})
	if _, _, ok := FindByArgs("--job", "x", "y"); ok {
		t.Error("found a process by arguments it does not have")
	}
	if _, _, ok := FindByArgs("-job", "x"); ok {
		t.Error("found a process by a part of an argument")
	}
	if _, _, ok := FindByArgs("x", "--job"); ok {
		t.Error("found a process by its arguments in another order")
	}
}
