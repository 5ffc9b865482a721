package procexec

import (
	"errors"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestEndingSortsHowACommandEnded: a cancel wins over a timeout and over the exit status, a
// timeout over the exit status; a command that exited 0 succeeded though a grandchild held
// its output open; a non-zero status or a signal is an *ExitError.
func TestEndingSortsHowACommandEnded(t *testing.T) {
	argv := []string{"prog", "arg"}
	waitOther := errors.New("wait: broken")
	for _, tc := range []struct {
		name               string
		code               int
		sig                syscall.Signal
		canceled, timedOut bool
		waitErr            error
		want               error // a sentinel the error wraps; nil for none
		exit               bool  // an *ExitError
		wantCanceled       bool
		wantTimedOut       bool
	}{
		{name: "succeeded", code: 0},
		{name: "exited 3", code: 3, waitErr: &exec.ExitError{}, exit: true},
		{name: "killed by a signal", code: -1, sig: syscall.SIGKILL, exit: true},
		{name: "canceled though it exited 0", code: 0, canceled: true, want: ErrCanceled, wantCanceled: true},
		{name: "canceled and timed out", code: -1, sig: syscall.SIGTERM, canceled: true, timedOut: true, want: ErrCanceled, wantCanceled: true},
		{name: "timed out", code: 1, timedOut: true, want: ErrTimedOut, wantTimedOut: true},
		{name: "exited 0, output held by a grandchild", code: 0, waitErr: exec.ErrWaitDelay},
		{name: "exited 1, output held by a grandchild", code: 1, waitErr: exec.ErrWaitDelay, exit: true},
		{name: "exited 0 but waiting failed", code: 0, waitErr: waitOther, want: waitOther},
	} {
		res, err := ending(Result{Argv: argv, ExitCode: tc.code, Signal: tc.sig}, time.Minute, tc.canceled, tc.timedOut, tc.waitErr)
		var exit *ExitError
		switch {
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s: err = %v, want one wrapping %v", tc.name, err, tc.want)
		case tc.exit && (!errors.As(err, &exit) || exit.Code != tc.code || exit.Signal != tc.sig):
			t.Errorf("%s: err = %#v, want an *ExitError with status %d, signal %v", tc.name, err, tc.code, tc.sig)
		case tc.want == nil && !tc.exit && err != nil:
			t.Errorf("%s: err = %v, want nil", tc.name, err)
		}
		if res.Canceled != tc.wantCanceled || res.TimedOut != tc.wantTimedOut {
			t.Errorf("%s: Canceled, TimedOut = %v, %v; want %v, %v", tc.name, res.Canceled, res.TimedOut, tc.wantCanceled, tc.wantTimedOut)
		}
		if res.ExitCode != tc.code || res.Signal != tc.sig {
			t.Errorf("%s: the exit status changed: %+v", tc.name, res)
		}
	}
}

// TestExecCmdIsolatesTheCommand: its own process group, the kernel's SIGKILL when this
// process dies unless detached, an empty environment rather than this one's, and a bound
// on waiting for its output.
func TestExecCmdIsolatesTheCommand(t *testing.T) {
	cmd := execCmd(t.Context(), Cmd{Argv: []string{"prog"}}, 3*time.Second)
	if !cmd.SysProcAttr.Setpgid || cmd.SysProcAttr.Pdeathsig != syscall.SIGKILL {
		t.Errorf("SysProcAttr = %+v, want Setpgid and Pdeathsig SIGKILL", cmd.SysProcAttr)
	}
	if cmd.Env == nil || len(cmd.Env) != 0 {
		t.Errorf("Env = %#v, want empty and not nil (nil inherits)", cmd.Env)
	}
	if cmd.WaitDelay != 4*time.Second {
		t.Errorf("WaitDelay = %v, want the grace period and a second", cmd.WaitDelay)
	}
	if cmd.Stdout != nil || cmd.Stderr != nil {
		t.Errorf("output goes somewhere without Cmd.Output")
	}
	detached := execCmd(t.Context(), Cmd{Argv: []string{"prog"}, Detach: true}, time.Second)
	if detached.SysProcAttr.Pdeathsig != 0 || !detached.SysProcAttr.Setpgid {
		t.Errorf("detached SysProcAttr = %+v, want Setpgid without Pdeathsig", detached.SysProcAttr)
	}
}
