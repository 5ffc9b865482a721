package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"pipelined/internal/cli"
	"pipelined/internal/watch"
)

// options are pipeline-watch's flags.
type options struct {
	cli.Paths
	interval    int
	once        bool
	concurrency int
	timeout     int
	projects    []string
}

func (o *options) addFlags(fs *pflag.FlagSet) {
	o.Paths.AddFlags(fs)
	fs.Var(cli.NamedInt(&o.interval, "SECONDS", 1), "interval", "time between the starts of two ls-remote of one remote")
	fs.BoolVar(&o.once, "once", false, "ask every remote once, wait for all, and exit (for cron and tests)")
	fs.Var(cli.NamedInt(&o.concurrency, "NUM", 1), "concurrency", "git ls-remote processes at most at once")
	fs.Var(cli.NamedInt(&o.timeout, "SECONDS", 1), "timeout", "time one git ls-remote may take (a project's timeout does not change it)")
	fs.StringArrayVar(&o.projects, "project", nil, "watch only this project (repeatable; default: every project)")
}

func newRootCommand() *cobra.Command {
	o := options{interval: 60, concurrency: watch.DefaultConcurrency, timeout: int(watch.DefaultTimeout.Seconds())}
	cmd := &cobra.Command{
		Use:   "pipeline-watch --config CONFIG.INI --workdir PATH [--interval SECONDS] [--once]",
		Short: "Find new branches and tags of the configured remotes and enqueue a job for each",
		Long: `pipeline-watch asks every remote of the enabled projects for its branches and tags with

  git --no-pager ls-remote --heads --tags --refs --quiet -- REMOTE

and writes a job file into WORKDIR/.pipelined/spool/new/ for every branch whose name fully
matches the project's "branches" regex, and every tag matching "tags", at a commit that has
no build directory yet and no job queued or running. pipelined runs it as a child; run it
alone with --once from cron, next to a pipelined that has polling turned off
(--interval 0), or to see what would be built.

Each remote has its own schedule: it is asked every --interval seconds after its last
ls-remote started, at most --concurrency at once, each for at most --timeout seconds (the
watcher's own bound; a project's "timeout" is for its builds). A remote still being asked
when it is due again is skipped, not waited for, so one slow or hanging remote never delays
the others. Projects sharing a remote URL share its ls-remote. A remote's error is logged
with git's own words when it changes, not at every interval, with any password or token in
its URL masked. git never prompts for a password.

Example:
  pipeline-watch --config /etc/pipelined.ini --workdir /var/pipelined --once

SIGNALS
  SIGHUP             re-read the configuration (an invalid file is reported, the old one
                     kept) and ask every remote right away
  SIGUSR1            ask remotes right away, whatever the interval: those of the projects
                     named by files in WORKDIR/.pipelined/poll/ (pipelined poll PROJECT
                     writes them), or every remote when there is none
  SIGINT, SIGTERM    exit at once, stopping any running git ls-remote

EXIT STATUS
  0    success
  1    a runtime failure
  2    usage error, or an invalid configuration file (every problem is listed)
  130  stopped by SIGINT, 143 by SIGTERM, 131 by SIGQUIT`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Require(); err != nil {
				return err
			}
			// Every handler is in place before the first pass.
			reload, stopHUP := notice(syscall.SIGHUP)
			defer stopHUP()
			pollNow, stopUSR1 := notice(syscall.SIGUSR1)
			defer stopUSR1()
			ctx, caught, stop := cli.CancelOnSignals(cmd.Context(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT)
			defer stop()
			err := watch.Run(ctx, watch.Options{
				Config:      o.Config,
				Workdir:     o.Workdir,
				Interval:    time.Duration(o.interval) * time.Second,
				Once:        o.once,
				Concurrency: o.concurrency,
				Timeout:     time.Duration(o.timeout) * time.Second,
				Logger:      cli.NewLogger(os.Stderr),
				Reload:      reload,
				PollNow:     pollNow,
				Projects:    o.projects,
			})
			if sig := caught(); sig != nil && err == nil {
				return sig
			}
			return err
		},
	}
	o.addFlags(cmd.Flags())
	return cmd
}

// notice turns a signal into a channel that holds at most one pending receive: signals that
// come while one is pending are the same request.
func notice(sig os.Signal) (<-chan struct{}, func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sig)
	out := make(chan struct{}, 1)
	go func() {
		for range ch {
			select {
			case out <- struct{}{}:
			default:
			}
		}
	}()
	return out, func() { signal.Stop(ch) }
}
