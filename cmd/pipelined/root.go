package main

import (
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"pipelined/internal/cli"
	"pipelined/internal/config"
	"pipelined/internal/procexec"
	"pipelined/internal/supervisor"
	"pipelined/internal/watch"
)

// options are pipelined's flags: the original command line (SPEC §3) and --grace.
type options struct {
	cli.Paths
	limit      int
	interval   int
	pollTime   int
	dumpConfig bool
	grace      time.Duration
}

func (o *options) addFlags(fs *pflag.FlagSet) {
	fs.Var(cli.NamedInt(&o.limit, "NUM", 1), "limit", "parallel build limit")
	fs.Var(cli.NamedInt(&o.interval, "SECONDS", 0), "interval", "git remote check interval (0: no polling, for webhooks only)")
	fs.Var(cli.NamedInt(&o.pollTime, "SECONDS", 1), "poll-timeout", "time one git ls-remote of the watcher may take (pipeline-watch --timeout)")
	fs.BoolVar(&o.dumpConfig, "dump-config", false, "dump config and exit")
	fs.DurationVar(&o.grace, "grace", procexec.DefaultGrace, "time a canceled build has to stop; the daemon exits within it plus a second")
}

const long = `pipelined watches git remotes for new branches and tags and, for each new commit, runs a
pipeline of plain commands: git clone and checkout, your prepare callback, docker build,
docker run, rsync, and your success or error callback. The original usage line works
unchanged:

  pipelined [-h] [--limit NUM] [--interval SECONDS] --workdir PATH --config CONFIG.INI [--dump-config]

It runs pipeline-watch (which polls every remote each --interval and writes job files into
WORKDIR/.pipelined/spool/new/) and starts a pipeline-build process for each job, first in
first out, at most --limit at once. A job file dropped into the spool by a webhook or by
"pipelined enqueue" starts at once, without waiting for the next poll. Each build leaves
WORKDIR/PROJECT/REF_URLENCODED/SHORTCOMMIT/ with build.log, build.json, drop/ and build/.

A job file stays in the spool until its build reaches a result of its own (success, failed,
skipped). A build canceled by a shutdown is built again after the next start. A build that
an infrastructure error stopped (a full disk, an unreachable remote or Docker engine, a
killed pipeline-build) is retried after 5 s, 10 s, 20 s and 40 s; after the fifth attempt the
job goes to spool/bad/ with every attempt's reason. One daemon runs per work directory.

Example:
  pipelined --limit 2 --interval 60 --workdir /var/pipelined --config /etc/pipelined.ini

SIGNALS
  SIGHUP           reload the configuration without interrupting anything; an invalid file
                   is reported and the previous one kept (a change to the file does the same)
  SIGUSR1          poll every remote now, whatever --interval (pipelined poll sends it)
  SIGINT           drain: start no new builds, let the running ones finish, exit 0; queued
                   jobs stay in the spool for the next start; a second SIGINT cancels
  SIGTERM, SIGQUIT cancel the running builds and exit within --grace plus a second; their
                   jobs stay in the spool and are built again at the next start

EXIT STATUS
  0    a completed SIGINT drain or SIGTERM/SIGQUIT shutdown
  1    a runtime failure, or another pipelined already runs on the work directory (its pid
       is named)
  2    usage error, or an invalid configuration file (every problem is listed with file,
       line, section and key)`

func newRootCommand() *cobra.Command {
	o := options{limit: 1, interval: 60, pollTime: int(watch.DefaultTimeout.Seconds())}
	cmd := &cobra.Command{
		Use:   "pipelined --workdir PATH --config CONFIG.INI [--limit NUM] [--interval SECONDS] [--dump-config]",
		Short: "Watch git remotes and run a build pipeline for every new branch and tag",
		Long:  long,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Require(); err != nil {
				return err
			}
			if o.dumpConfig {
				return dumpConfig(cmd, o.Config)
			}
			buildBin, err := cli.FindSibling("pipeline-build")
			if err != nil {
				return err
			}
			watchBin, err := cli.FindSibling("pipeline-watch")
			if err != nil {
				return err
			}
			return supervisor.Run(cmd.Context(), supervisor.Options{
				Config:      o.Config,
				Workdir:     o.Workdir,
				Limit:       o.limit,
				Interval:    time.Duration(o.interval) * time.Second,
				PollTimeout: time.Duration(o.pollTime) * time.Second,
				Grace:       o.grace,
				Logger:      cli.NewLogger(os.Stderr),
				Build:       buildBin,
				Watch:       watchBin,
				Version:     cli.Version(),
			})
		},
	}
	o.Paths.AddFlags(cmd.PersistentFlags())
	o.addFlags(cmd.Flags())
	cmd.AddCommand(newStatusCommand(&o.Paths), newEnqueueCommand(&o.Paths), newCancelCommand(&o.Paths),
		newPruneCommand(&o.Paths), newPollCommand(&o.Paths))
	return cmd
}

// dumpConfig prints the effective configuration: every project, every key, defaults filled
// in, interpolation resolved, as INI that Python's configparser reads back the same.
func dumpConfig(cmd *cobra.Command, path string) error {
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		cmd.PrintErrln("pipelined: warning:", w.Error())
	}
	return cfg.Dump(cmd.OutOrStdout())
}
