package build

import (
	"fmt"
	"syscall"
	"testing"

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
