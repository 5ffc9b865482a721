package main

import (
	"errors"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"pipelined/internal/build"
	"pipelined/internal/cli"
	"pipelined/internal/exitcode"
	"pipelined/internal/procexec"
)

// options are pipeline-build's flags.
type options struct {
	cli.Paths
	job   string
	grace time.Duration
}

func (o *options) addFlags(fs *pflag.FlagSet) {
	o.Paths.AddFlags(fs)
	fs.Var(cli.Named(&o.job, "FILE"), "job", "job file to build (how pipelined calls it); instead of PROJECT REF [COMMIT]")
	fs.DurationVar(&o.grace, "grace", procexec.DefaultGrace, "on a signal, time to stop the current command, remove its container and run error_callback")
}

func newRootCommand() *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:   "pipeline-build --config CONFIG.INI --workdir PATH (--job FILE | PROJECT REF [COMMIT])",
		Short: "Run one build of a project's ref: clone, checkout, callbacks, docker build and run, rsync",
		Long: `pipeline-build runs one complete build and exits. pipelined starts one per job; you can
also run it by hand or from cron.

It creates WORKDIR/PROJECT/REF_URLENCODED/SHORTCOMMIT.tmp/ with build.log (every command
line, then its output as it comes), build.json (the status, rewritten at every step), drop/
(the artifacts, /drop in the container) and build/ (the checkout, /build in the
container), runs the steps the project's configuration enables, and on success renames the
directory to SHORTCOMMIT. REF may be a full ref (refs/heads/main, refs/tags/v1.2) or a
branch or tag name (main, v1.2). Without COMMIT, the ref's current commit is asked of the
remote with git ls-remote. A commit that can no longer be checked out is skipped.

Example:
  pipeline-build --config /etc/pipelined.ini --workdir /var/pipelined example-project main

SIGNALS
  SIGINT, SIGTERM, SIGQUIT  cancel the build: stop the running command (and container),
                            run error_callback with BUILD_STATUS=canceled, record
                            "canceled", keep the .tmp directory, and exit within --grace.
                            A second signal ends the process at once.

EXIT STATUS
  0    the build succeeded, or was skipped (its commit is no longer on the remote)
  1    the build failed: a step failed, or the remote has no such ref
  2    bad input: usage, an invalid configuration, an unknown or disabled project, a ref
       git would refuse, a bad commit or job file
  75   an infrastructure error kept the build from a result of its own (a full or
       read-only disk, a remote that could not be asked, a Docker engine that does not
       answer); pipelined keeps the job and tries again later
  130  canceled by SIGINT, 143 by SIGTERM, 131 by SIGQUIT`,
		Args: cobra.RangeArgs(0, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			bo, err := o.buildOptions(args)
			if err != nil {
				return err
			}
			// Under a daemon that has died, stderr is a pipe nobody reads: the build goes on
			// and finishes its job rather than dying of SIGPIPE on its summary line.
			signal.Ignore(syscall.SIGPIPE)
			ctx, caught, stop := cli.CancelOnSignals(cmd.Context(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT)
			defer stop()
			bo.Summary = cmd.ErrOrStderr()
			err = build.Run(ctx, bo)
			if sig := caught(); sig != nil && errors.Is(err, build.ErrCanceled) {
				return sig
			}
			return err
		},
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func (o *options) buildOptions(args []string) (build.Options, error) {
	if err := o.Require(); err != nil {
		return build.Options{}, err
	}
	bo := build.Options{Config: o.Config, Workdir: o.Workdir, JobFile: o.job, Grace: o.grace}
	switch {
	case o.job != "" && len(args) > 0:
		return bo, exitcode.Usagef("give either --job FILE or PROJECT REF [COMMIT], not both")
	case o.job == "" && len(args) < 2:
		return bo, exitcode.Usagef("give PROJECT REF [COMMIT], or --job FILE")
	case o.job == "":
		bo.Project, bo.Ref = args[0], args[1]
		if len(args) == 3 {
			bo.Commit = args[2]
		}
	}
	return bo, nil
}
