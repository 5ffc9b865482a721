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

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"pipelined/internal/config"
	"pipelined/internal/exitcode"
)

// version is set at build time: go build -ldflags "-X pipelined/internal/cli.version=…".
var version = "dev"

// Version returns the version the binary was built with.
func Version() string { return version }

// Main runs a root command and returns its exit status, printing a failure once as
// "NAME: message" (a broken configuration file gives one line per problem).
func Main(root *cobra.Command) int {
	// These programs spend their lives waiting for child processes. With one P the Go
	// scheduler does not spin threads up and down around every wait: it halved the CPU
	// the watcher spends per poll (make bench). GOMAXPROCS in the environment still wins.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	// Cobra's shell-completion command would be the one command without a man page or a
	// word in the README.
	root.CompletionOptions.DisableDefaultCmd = true
	root.SilenceUsage = true
	root.SilenceErrors = true
	root.Version = version
	wrapUsageErrors(root)
	addManFlag(root)
	err := root.Execute()
	if errors.Is(err, errManDone) {
		return exitcode.OK
	}
	var silent *exitcode.SilentError
	var sig *exitcode.SignalError
	// A command stopped by a signal says so with its exit status alone: the one who sent
	// the signal knows, and a daemon stopping its watcher should not log an error for it.
	if err != nil && !errors.As(err, &silent) && !errors.As(err, &sig) {
		// A broken configuration file comes as one error per problem: one line each.
		for _, e := range config.Problems(err) {
			fmt.Fprintf(os.Stderr, "%s: %v\n", root.Name(), e)
		}
		var usage *exitcode.UsageError
		if errors.As(err, &usage) {
			fmt.Fprintf(os.Stderr, "Run '%s --help' for usage.\n", root.CommandPath())
		}
	}
	return exitcode.Of(err)
}

// wrapUsageErrors makes cobra's own complaints (unknown flag, bad value, wrong number of
// arguments) usage errors, which cobra does not type.
func wrapUsageErrors(cmd *cobra.Command) {
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exitcode.UsageError{Err: err} })
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				return &exitcode.UsageError{Err: err}
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

// AddFlags adds --config and --workdir to fs, both required.
func (p *Paths) AddFlags(fs *pflag.FlagSet) {
	p.AddWorkdirFlag(fs, "output and state directory (required)")
	p.AddConfigFlag(fs, "project configuration file (required)")
}

// AddWorkdirFlag adds --workdir to fs with a usage of the command's own: whether the work
// directory is needed differs between commands, and help must not claim what is not so.
func (p *Paths) AddWorkdirFlag(fs *pflag.FlagSet, usage string) {
	fs.Var(Named(&p.Workdir, "PATH"), "workdir", usage)
}

// AddConfigFlag adds --config to fs with a usage of the command's own (see AddWorkdirFlag).
func (p *Paths) AddConfigFlag(fs *pflag.FlagSet, usage string) {
	fs.Var(Named(&p.Config, "CONFIG.INI"), "config", usage)
}

// Require returns a usage error unless both paths are set.
func (p *Paths) Require() error {
	switch {
	case p.Config == "" && p.Workdir == "":
		return exitcode.Usagef("--workdir and --config are required")
	case p.Config == "":
		return exitcode.Usagef("--config is required")
	case p.Workdir == "":
		return exitcode.Usagef("--workdir is required")
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
