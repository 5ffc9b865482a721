package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"pipelined/internal/cli"
	"pipelined/internal/exitcode"
	"pipelined/internal/watch"
	"pipelined/internal/workdir"
)

// options are pipeline-watch's flags.
type options struct {
	cli.Paths
	interval    int
	once        bool
	concurrency int
	timeout     int
	projects    []string
	quiet       bool
	log         bool
	doneFD      int // the daemon's: where to say which remotes a pass is done with
}

func (o *options) addFlags(fs *pflag.FlagSet) {
	o.Paths.AddFlags(fs)
	fs.Var(cli.Seconds(&o.interval, 1), "interval", "time between the starts of two ls-remote of one remote")
	fs.BoolVar(&o.once, "once", false, "ask every remote once, wait for all, print what was done, and exit (for cron)")
	fs.BoolVar(&o.quiet, "quiet", false, "with --once: print no report, only errors (on stderr); the exit status is the same")
	fs.BoolVar(&o.log, "log", false, "with --once: log every job written and every change of a remote's state on stderr, as the watcher does (pipelined runs its passes so)")
	fs.Var(cli.NamedInt(&o.concurrency, "NUM", 1), "concurrency", "git ls-remote processes at most at once")
	fs.Var(cli.Seconds(&o.timeout, 1), "timeout", "time one git ls-remote may take (a project's timeout does not change it)")
	fs.StringArrayVar(&o.projects, "project", nil, "watch only this `PROJECT` (repeatable; default: every project)")
	fs.IntVar(&o.doneFD, "done-fd", -1, "write a line to this file descriptor as each remote's poll ends (for pipelined)")
	_ = fs.MarkHidden("done-fd")
}

const long = `pipeline-watch asks every remote of the enabled projects for its branches and tags with

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
  pipeline-watch --once --config /etc/pipelined.ini \
      --workdir /var/pipelined

REPORT
With --once, pipeline-watch says what it did on standard output (--quiet leaves that out;
errors also go to standard error either way). For example:

  warning: /etc/pipelined.ini:9: [web] tag: "v.*" looks like a regex, …
  [app] /srv/git/app.git: 7 refs, 4 match
    skipped  refs/heads/dev 89abcdef: already built in /var/pipelined/…
    queued   refs/heads/main 0123abcd: job 01718…4242.1a2b3c4d.job
    skipped  refs/tags/v1.0 fedcba98: already queued as job 01717…
    error    refs/tags/v1.1 76543210: cannot write the job: …
  [lib] https://***@git.example.com/lib.git: failed
    error    git ls-remote https://***@git.example.com/lib.git: …
  [docs] not polled: watch = False
  total: 1 queued, 2 skipped, 1 not written; 2 remotes asked, 1 failed

First come the configuration's warnings. Then each project, in the order of the file: its
remote (a password or token in it masked as ***) with how many refs it has and how many of
them match branches or tags; or "failed", and on the next line git's own words; or why it
is not polled (enabled = False, watch = False, or neither branches nor tags is set). Under
it, one line for each matching ref, sorted by name: "queued" with the job file's name,
"skipped" because the commit already has a build directory (named: delete it to build the
commit again), a job queued or running, or a commit recorded without a build, "recorded"
at a first poll with build_existing = False (counted as skipped), or "error" when the job
file or the record could not be written. Refs of the remote that git or pipelined refuses are listed as "ignored". The last
line adds it up.

SIGNALS
  SIGHUP             re-read the configuration (an invalid file is reported, the old one
                     kept) and ask every remote right away
  SIGUSR1            ask remotes right away, whatever the interval: those of the projects
                     named by files in WORKDIR/.pipelined/poll/ (pipelined poll PROJECT
                     writes them), or every remote when there is none
  SIGINT, SIGTERM, SIGQUIT
                     exit at once, stopping any running git ls-remote

EXIT STATUS
  0    success
  1    a runtime failure; with --once also a remote that could not be listed or a job
       that could not be written (cron mails the report)
  2    usage error, a work directory without .pipelined/ (a mistyped --workdir: the
       daemon or pipeline-build makes it), or an invalid configuration file (every
       problem is listed)
  130  stopped by SIGINT, 143 by SIGTERM, 131 by SIGQUIT`

func newRootCommand() *cobra.Command {
	o := options{interval: 60, concurrency: watch.DefaultConcurrency, timeout: int(watch.DefaultTimeout.Seconds())}
	cmd := &cobra.Command{
		Use:         "pipeline-watch --config CONFIG.INI --workdir PATH [--interval SECONDS] [--once]",
		Short:       "Find new branches and tags of the configured remotes and enqueue a job for each",
		Long:        long,
		Annotations: map[string]string{cli.ManEnvironment: environment, cli.ManFiles: files},
		Args:        cobra.NoArgs,
		RunE:        o.run,
	}
	o.addFlags(cmd.Flags())
	return cmd
}

// run is pipeline-watch: the poll loop, or with --once one pass and its report.
func (o *options) run(cmd *cobra.Command, _ []string) error {
	if err := o.check(); err != nil {
		return err
	}
	cli.SurviveBrokenPipes()
	logger, report := o.output()
	// Every handler is in place before the first pass.
	reload, stopHUP := notice(syscall.SIGHUP)
	defer stopHUP()
	pollNow, stopUSR1 := notice(syscall.SIGUSR1)
	defer stopUSR1()
	ctx, caught, stop := cli.CancelOnSignals(cmd.Context(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT)
	defer stop()
	opts := o.watchOptions(logger, report, reload, pollNow)
	if o.doneFD >= 0 {
		// Not handed on to git and ssh, which would hold the daemon's pipe open.
		syscall.CloseOnExec(o.doneFD)
		done := os.NewFile(uintptr(o.doneFD), "done")
		defer done.Close()
		opts.Done = done
	}
	err := watch.Run(ctx, opts)
	if sig := caught(); sig != nil && err == nil {
		return sig // a pass cut short: no report of half of it
	}
	if err != nil || report == nil {
		return err
	}
	return o.writeReport(cmd, report)
}

// check refuses flags that do not go together and a work directory that does not exist.
func (o *options) check() error {
	if err := o.Require(); err != nil {
		return err
	}
	if o.quiet && !o.once {
		return exitcode.Usagef("--quiet goes with --once: without it, pipeline-watch only logs")
	}
	if o.log && !o.once {
		return exitcode.Usagef("--log goes with --once: without it, pipeline-watch logs anyway")
	}
	// Its jobs are for the daemon of an existing work directory; a mistyped one
	// would collect jobs that nobody runs.
	_, err := workdir.Open(o.Workdir)
	return err
}

// output is where the watcher says what it does: the log on stderr, and with --once a
// report (nil without).
func (o *options) output() (*slog.Logger, *watch.Report) {
	logger := cli.NewLogger(os.Stderr)
	if !o.once {
		return logger, nil
	}
	// The report on stdout tells the rest; stderr keeps the errors, as cron and
	// anyone who sends stdout elsewhere expect.
	if !o.log {
		logger = cli.MinLevel(logger, slog.LevelError)
	}
	return logger, watch.NewReport()
}

func (o *options) watchOptions(logger *slog.Logger, report *watch.Report, reload, pollNow <-chan struct{}) watch.Options {
	return watch.Options{
		Config:      o.Config,
		Workdir:     o.Workdir,
		Interval:    time.Duration(o.interval) * time.Second,
		Once:        o.once,
		Concurrency: o.concurrency,
		Timeout:     time.Duration(o.timeout) * time.Second,
		Logger:      logger,
		Reload:      reload,
		PollNow:     pollNow,
		Projects:    o.projects,
		Report:      report,
		// A remote's error is logged once while it lasts, across passes too —
		// but for cron, whose every run says what is wrong.
		RememberErrors: !o.once || o.log,
	}
}

// writeReport prints the report of a --once pass, unless --quiet, and makes its failures
// the exit status.
func (o *options) writeReport(cmd *cobra.Command, report *watch.Report) error {
	if !o.quiet {
		if _, err := report.WriteTo(cmd.OutOrStdout()); err != nil {
			return err
		}
	}
	if report.Failed() {
		// Already said, in the report and on stderr.
		return &exitcode.SilentError{Code: exitcode.Failure}
	}
	return nil
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

// The man page's ENVIRONMENT and FILES (see cli.ManEnvironment), in the help's plain-text
// conventions.
const (
	environment = `  GIT_SSH_COMMAND, GIT_SSH  git's ssh command, from this environment or a project's env (that
                     of the first project of a remote): a deploy key, for example. Without
                     one, ssh runs with BatchMode=yes and ConnectTimeout=30. Connection
                     sharing (one connection per host across polls) is added to a plain
                     ssh command.
  GIT_TERMINAL_PROMPT, GIT_ASKPASS, SSH_ASKPASS_REQUIRE
                     set by pipeline-watch for git, so that it never waits for a password
  JOURNAL_STREAM     set by systemd: when stderr is the journal, log lines get a syslog
                     priority prefix and no time stamp
  GOMAXPROCS         threads of the Go scheduler; 1 unless set, as the watcher spends its
                     time waiting for git`

	files = `  CONFIG.INI         the configuration (--config), see pipelined.ini(5); under pipelined,
                     its copy WORKDIR/.pipelined/config.ini
  WORKDIR/.pipelined/spool/new/
                     where a job file for each new commit is written (through spool/tmp/)
  WORKDIR/.pipelined/spool/cur/
                     with new/, the jobs queued and running, which are not written again
  WORKDIR/PROJECT/REF_URLENCODED/SHORTCOMMIT[.tmp]/
                     a build of the commit: while it exists, the commit is not built
                     again; delete it to build the commit again
  WORKDIR/.pipelined/poll/
                     the projects "pipelined poll PROJECT" asks to have polled now, read
                     on SIGUSR1 and removed
  WORKDIR/.pipelined/ssh/
                     ssh's shared connections to the hosts of ssh remotes (in
                     /tmp/pipelined-ssh-UID/ when that path is too long for a socket)`
)
