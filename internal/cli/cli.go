// Package cli is the glue the three commands share: the --config/--workdir flags, the
// version, turning an error into one message and the exit code of SPEC §3, the signal that
// stopped a command, and finding the sibling binaries.
package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"pipelined/internal/config"
)

// version is set at build time: go build -ldflags "-X pipelined/internal/cli.version=…".
var version = "dev"

// Version returns the version the binary was built with.
func Version() string { return version }

// Exit codes (SPEC §3), also listed in every --help and in the README.
const (
	ExitOK      = 0 // success; for pipelined also a completed drain or shutdown
	ExitFailure = 1 // the build failed (pipeline-build), or a runtime failure
	ExitUsage   = 2 // bad usage or a broken configuration file
)

// ExitStatusHelp is the EXIT STATUS section of the commands' help.
const ExitStatusHelp = `EXIT STATUS
  0    success (pipelined: also after a SIGINT drain or a SIGTERM/SIGQUIT shutdown)
  1    the build failed, or a runtime failure
  2    usage error, or an invalid configuration file (every problem is listed with
       file, line, section and key)
  130  stopped by SIGINT, 143 by SIGTERM, 131 by SIGQUIT (pipeline-build, pipeline-watch)`

// UsageError is a wrong command line: exit status 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a [*UsageError].
func Usagef(format string, args ...any) error {
	return &UsageError{fmt.Errorf(format, args...)}
}

// SignalError reports that a command stopped because of a signal: exit status 128+signal.
type SignalError struct{ Signal syscall.Signal }

func (e *SignalError) Error() string { return "stopped by " + signalName(e.Signal) }

// SilentError carries an exit status for a failure that has already been reported (for
// pipeline-build, the one-line summary it prints itself).
type SilentError struct{ Code int }

func (e *SilentError) Error() string { return "exit status " + strconv.Itoa(e.Code) }

// ExitCode maps err to the exit status of SPEC §3.
func ExitCode(err error) int {
	var usage *UsageError
	var cfg *config.Error
	var sig *SignalError
	var silent *SilentError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &silent):
		return silent.Code
	case errors.As(err, &sig):
		return 128 + int(sig.Signal)
	case errors.As(err, &usage), errors.As(err, &cfg):
		return ExitUsage
	default:
		return ExitFailure
	}
}

// Main runs a root command and returns its exit status, printing a failure once as
// "NAME: message" (a broken configuration file gives one line per problem).
func Main(root *cobra.Command) int {
	// These programs spend their lives waiting for child processes. With one P the Go
	// scheduler does not spin threads up and down around every wait: it halved the CPU
	// the watcher spends per poll (make bench). GOMAXPROCS in the environment still wins.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	root.SilenceUsage = true
	root.SilenceErrors = true
	root.Version = version
	wrapUsageErrors(root)
	addManFlag(root)
	err := root.Execute()
	if errors.Is(err, errManDone) {
		return ExitOK
	}
	var silent *SilentError
	var sig *SignalError
	// A command stopped by a signal says so with its exit status alone: the one who sent
	// the signal knows, and a daemon stopping its watcher should not log an error for it.
	if err != nil && !errors.As(err, &silent) && !errors.As(err, &sig) {
		// A broken configuration file comes as one error per problem: one line each.
		for _, e := range unjoin(err) {
			fmt.Fprintf(os.Stderr, "%s: %v\n", root.Name(), e)
		}
		var usage *UsageError
		if errors.As(err, &usage) {
			fmt.Fprintf(os.Stderr, "Run '%s --help' for usage.\n", root.CommandPath())
		}
	}
	return ExitCode(err)
}

// wrapUsageErrors makes cobra's own complaints (unknown flag, bad value, wrong number of
// arguments) usage errors, which cobra does not type.
func wrapUsageErrors(cmd *cobra.Command) {
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{err} })
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				return &UsageError{err}
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		wrapUsageErrors(sub)
	}
}

// Paths are the two flags every command takes.
type Paths struct {
	Config  string // the project configuration file
	Workdir string // the work directory: builds, logs, spool
}

// AddFlags adds --config and --workdir to fs.
func (p *Paths) AddFlags(fs *pflag.FlagSet) {
	fs.Var(Named(&p.Workdir, "PATH"), "workdir", "output and state directory (required)")
	fs.Var(Named(&p.Config, "CONFIG.INI"), "config", "project configuration file (required)")
}

// Require returns a usage error unless both paths are set.
func (p *Paths) Require() error {
	switch {
	case p.Config == "" && p.Workdir == "":
		return Usagef("--workdir and --config are required")
	case p.Config == "":
		return Usagef("--config is required")
	case p.Workdir == "":
		return Usagef("--workdir is required")
	}
	return nil
}

// FindSibling returns the path of another pipelined binary: the one next to the running
// executable if there is one, else the one on PATH (SPEC §2).
func FindSibling(name string) (string, error) {
	if self, err := os.Executable(); err == nil {
		candidate := filepath.Join(filepath.Dir(self), name)
		if info, err := os.Stat(candidate); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
			return candidate, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("no %s next to this executable or on PATH; install the three binaries together", name)
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return s.String()
}

// unjoin returns the errors joined in err, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
