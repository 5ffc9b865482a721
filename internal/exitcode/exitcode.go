// Package exitcode is the one table from an error to the exit status of SPEC §3 and §5.1,
// shared by the three commands. It is a leaf, importing no package of pipelined: an error
// of any package carries its own exit status (an ExitCode method), and the packages that
// decide an outcome (build, admin, supervisor) return these errors without depending on the
// command-line glue.
package exitcode

import (
	"errors"
	"fmt"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Exit statuses. Retry is sysexits.h's EX_TEMPFAIL, which mail transfer agents use for the
// same purpose: "not done, through no fault of the input; try again later".
const (
	OK      = 0  // success; for pipelined also a completed drain or shutdown
	Failure = 1  // the build failed (pipeline-build), or a runtime failure
	Usage   = 2  // bad usage or a broken configuration file
	Retry   = 75 // pipeline-build: an infrastructure error kept the build from a result; retry the job
)

// UsageError is a wrong command line or input: exit status 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a [*UsageError].
func Usagef(format string, args ...any) error {
	return &UsageError{fmt.Errorf(format, args...)}
}

// RetryError is an infrastructure problem (a full or read-only disk, an unreachable remote
// or engine) that kept a build from reaching a result of its own: exit status 75, and the
// supervisor keeps the job and retries it (SPEC §5.1).
type RetryError struct{ Err error }

func (e *RetryError) Error() string { return e.Err.Error() }
func (e *RetryError) Unwrap() error { return e.Err }

// Retryf returns a [*RetryError].
func Retryf(format string, args ...any) error {
	return &RetryError{fmt.Errorf(format, args...)}
}

// SignalError reports that a command stopped because of a signal: exit status 128+signal.
type SignalError struct{ Signal syscall.Signal }

func (e *SignalError) Error() string {
	if name := unix.SignalName(e.Signal); name != "" {
		return "stopped by " + name
	}
	return "stopped by signal " + strconv.Itoa(int(e.Signal))
}

// Coder is an error that knows its exit status: a package below this one (a broken
// configuration file, a mistyped work directory) says which without importing it.
type Coder interface{ ExitCode() int }

// SilentError carries an exit status for a failure that has already been reported (for
// pipeline-build, the one-line summary it prints itself).
type SilentError struct{ Code int }

func (e *SilentError) Error() string { return "exit status " + strconv.Itoa(e.Code) }

// Of maps err to its exit status.
func Of(err error) int {
	var usage *UsageError
	var coder Coder
	var sig *SignalError
	var silent *SilentError
	var retry *RetryError
	switch {
	case err == nil:
		return OK
	case errors.As(err, &silent):
		return silent.Code
	case errors.As(err, &sig):
		return 128 + int(sig.Signal)
	case errors.As(err, &retry):
		return Retry
	case errors.As(err, &usage):
		return Usage
	case errors.As(err, &coder):
		return coder.ExitCode()
	default:
		return Failure
	}
}
