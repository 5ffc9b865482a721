package build

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/procexec"
)

// TestOwnExitIsTheStepsResult: a command that exited 0 succeeded whatever cancel came
// meanwhile; one the cancel killed, or that failed, or that timed out, did not; nor did
// docker's client, whose exit status is not its container's.
func TestOwnExitIsTheStepsResult(t *testing.T) {
	canceled := fmt.Errorf("/bin/sh: %w", procexec.ErrCanceled)
	for _, tc := range []struct {
		name string
		step string
		res  procexec.Result
		err  error
		ok   bool
	}{
		{"exited 0 after the cancel's SIGTERM", StepSuccessCallback, procexec.Result{Pid: 7, Canceled: true}, canceled, true},
		{"exited 1 after the SIGTERM", StepSuccessCallback, procexec.Result{Pid: 7, ExitCode: 1, Canceled: true}, canceled, false},
		{"killed by the SIGTERM", StepSuccessCallback, procexec.Result{Pid: 7, ExitCode: -1, Signal: syscall.SIGTERM, Canceled: true}, canceled, false},
		{"killed after the grace period", StepSuccessCallback, procexec.Result{Pid: 7, ExitCode: -1, Signal: syscall.SIGKILL, Canceled: true}, canceled, false},
		{"never started", StepSuccessCallback, procexec.Result{Canceled: true}, canceled, false},
		{"timed out and exited 0", StepSuccessCallback, procexec.Result{Pid: 7, TimedOut: true}, fmt.Errorf("x: %w", procexec.ErrTimedOut), false},
		{"failed on its own", StepSuccessCallback, procexec.Result{Pid: 7, ExitCode: 2}, &procexec.ExitError{Code: 2}, false},
		{"succeeded", StepSuccessCallback, procexec.Result{Pid: 7}, nil, true},
		{"docker run's client exited 0 after the SIGTERM", StepDockerRun, procexec.Result{Pid: 7, Canceled: true}, canceled, false},
		{"docker build's client exited 0 after the SIGTERM", StepDockerBuild, procexec.Result{Pid: 7, Canceled: true}, canceled, false},
		{"rsync exited 0 after the SIGTERM", StepRsync, procexec.Result{Pid: 7, Canceled: true}, canceled, true},
	} {
		res, err := ownExit(tc.step, tc.res, tc.err)
		if (err == nil) != tc.ok || err == nil && res.Canceled {
			t.Errorf("%s: ownExit = %+v, %v; want success %v", tc.name, res, err, tc.ok)
		}
	}
}

// TestRedactArgvMasksTheRemotesCredentials: build.json records argv with the remote's
// password masked wherever it appears, and leaves the build's own argv alone.
func TestRedactArgvMasksTheRemotesCredentials(t *testing.T) {
	remote := "https://deploy:s3cret@git.example.com/team/app.git"
	b := &builder{project: &config.Project{Remote: remote}}
	argv := []string{"git", "clone", "--", remote, "/w/app"}
	got := b.redactArgv(argv)
	if strings.Contains(strings.Join(got, " "), "s3cret") {
		t.Errorf("redactArgv = %q: the password is there", got)
	}
	if got[0] != "git" || got[4] != "/w/app" || !strings.Contains(got[3], "deploy:") || !strings.Contains(got[3], "git.example.com/team/app.git") {
		t.Errorf("redactArgv = %q: more than the password changed", got)
	}
	if argv[3] != remote {
		t.Errorf("redactArgv changed its argument: %q", argv)
	}
	plain := &builder{project: &config.Project{Remote: "/srv/git/app.git"}}
	if got := plain.redactArgv([]string{"git", "clone", "/srv/git/app.git"}); !slices.Equal(got, []string{"git", "clone", "/srv/git/app.git"}) {
		t.Errorf("a remote without credentials: redactArgv = %q", got)
	}
}

// TestNetworkTimeoutIsTheProjectsOrTheClonesDefault: a remote that hangs must not hold a
// build slot for ever; a project's own timeout bounds every command.
func TestNetworkTimeoutIsTheProjectsOrTheClonesDefault(t *testing.T) {
	if got := (&builder{project: &config.Project{}}).networkTimeout(); got != DefaultCloneTimeout {
		t.Errorf("no timeout of the project's: %v, want %v", got, DefaultCloneTimeout)
	}
	if got := (&builder{project: &config.Project{Timeout: time.Minute}}).networkTimeout(); got != time.Minute {
		t.Errorf("the project's timeout: %v, want 1m", got)
	}
}

// TestCleanupContextOutlivesTheCancelWithinTheGrace: cleanup is not ended by the cancel; it
// lasts at most its limit, and after a cancel never beyond the grace period less
// cleanupMargin, counted from the cancel.
func TestCleanupContextOutlivesTheCancelWithinTheGrace(t *testing.T) {
	b := &builder{o: Options{Grace: 10 * time.Second}}
	ctx, cancel := context.WithCancel(context.Background())

	before := time.Now()
	c, stop := b.cleanupContext(ctx, time.Minute)
	deadline, ok := c.Deadline()
	stop()
	if !ok || deadline.Before(before.Add(time.Minute)) || deadline.After(time.Now().Add(time.Minute)) {
		t.Errorf("not canceled: deadline %v, want a minute from now", deadline)
	}

	canceledAt := time.Now().Add(-3 * time.Second)
	b.canceled.Store(&canceledAt)
	cancel()
	c, stop = b.cleanupContext(ctx, time.Minute)
	defer stop()
	if c.Err() != nil {
		t.Fatalf("the cleanup context ended with the build's: %v", c.Err())
	}
	want := canceledAt.Add(b.o.Grace - cleanupMargin)
	if deadline, _ := c.Deadline(); !deadline.Equal(want) {
		t.Errorf("after a cancel: deadline %v, want %v (the cancel, plus the grace, less the margin)", deadline, want)
	}

	c2, stop2 := b.cleanupContext(ctx, time.Second)
	defer stop2()
	if deadline, _ := c2.Deadline(); deadline.After(time.Now().Add(time.Second)) {
		t.Errorf("a limit shorter than what remains: deadline %v, want within a second", deadline)
	}
}

// TestStopGraceIsHalfTheGrace: a command gets SIGKILL half-way through the grace period, so
// that its container's removal and error_callback have the rest.
func TestStopGraceIsHalfTheGrace(t *testing.T) {
	if got := stopGrace(10 * time.Second); got != 5*time.Second {
		t.Errorf("stopGrace(10s) = %v", got)
	}
}
