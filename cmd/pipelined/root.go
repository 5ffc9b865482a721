package main

import (
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"pipelined/internal/cli"
	"pipelined/internal/config"
	"pipelined/internal/engine"
	"pipelined/internal/exitcode"
	"pipelined/internal/polling"
	"pipelined/internal/procexec"
	"pipelined/internal/supervisor"
)

// options are pipelined's flags: the original command line (SPEC §3) and --grace.
type options struct {
	cli.Paths
	limit      int
	interval   int
	pollTime   int
	engines    []string
	dumpConfig bool
	grace      time.Duration
	// Tuning: how often a busy engine is checked, how long a probe may take, how often the
	// spool is listed without an event.
	engineCheck, engineTimeout, rescan int
}

func (o *options) addFlags(fs *pflag.FlagSet) {
	fs.Var(cli.NamedInt(&o.limit, "NUM", 1), "limit", "parallel build limit")
	fs.Var(cli.Seconds(&o.interval, 0), "interval", "git remote check interval (0: no polling, for webhooks only)")
	fs.Var(cli.Seconds(&o.pollTime, 1), "poll-timeout", "time one git ls-remote of the watcher may take (pipeline-watch --timeout)")
	fs.BoolVar(&o.dumpConfig, "dump-config", false, "dump config and exit")
	fs.Var(cli.Grace(&o.grace), "grace", "time a canceled build has to stop; the daemon exits within it plus a second")
	fs.Var(cli.Seconds(&o.engineCheck, 1), "engine-check", "while builds run on an engine, ask it this often whether it still answers (docker version); one that does not is taken out of the pool and its builds retried elsewhere")
	fs.Var(cli.Seconds(&o.engineTimeout, 1), "engine-timeout", "time one docker version of an engine may take before the engine counts as not answering")
	fs.Var(cli.Seconds(&o.rescan, 1), "rescan", "list spool/new/ this often even without a file event, and try again what could not be done to the spool (an unwritable disk)")
	fs.Var(cli.NamedList(&o.engines, "NAME=DOCKER_HOST[,slots=N]"), "engine", `a Docker engine builds run on (repeatable; default: "local", the environment's own Docker, with --limit slots); only "local" bind-mounts this host's files`)
}

const long = `pipelined watches git remotes for new branches and tags and, for each new commit, runs a
pipeline of plain commands: git clone and checkout, your prepare callback, docker build,
docker run, rsync, and your success or error callback. The original usage line works
unchanged:

  pipelined [-h] [--limit NUM] [--interval SECONDS] --workdir PATH
            --config CONFIG.INI [--dump-config]

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
  pipelined --limit 2 --interval 60 \
      --workdir /var/pipelined --config /etc/pipelined.ini

SIGNALS
  SIGHUP            reload the configuration without interrupting anything; an invalid
                    file is reported and the previous one kept (a change to the file
                    does the same)
  SIGUSR1           poll every remote now, whatever --interval (pipelined poll sends it)
  SIGINT            drain: start no new builds, let the running ones finish, exit 0;
                    queued jobs stay in the spool for the next start; a second SIGINT
                    cancels
  SIGTERM, SIGQUIT  cancel the running builds and exit within --grace plus a second;
                    their jobs stay in the spool and are built again at the next start

EXIT STATUS
  0    a completed SIGINT drain or SIGTERM/SIGQUIT shutdown
  1    a runtime failure, or another pipelined already runs on the work directory (its pid
       is named)
  2    usage error, or an invalid configuration file (every problem is listed with file,
       line, section and key)`

func newRootCommand() *cobra.Command {
	o := options{limit: 1, interval: 60, pollTime: int(polling.DefaultTimeout.Seconds()), engineCheck: 30, engineTimeout: 15, rescan: 60,
		grace: procexec.DefaultGrace}
	cmd := &cobra.Command{
		Use:   "pipelined --workdir PATH --config CONFIG.INI [--limit NUM] [--interval SECONDS] [--dump-config]",
		Short: "Watch git remotes and run a build pipeline for every new branch and tag",
		Long:  long,
		Annotations: map[string]string{cli.ManEnvironment: environment, cli.ManFiles: files,
			cli.ManConfigPage: ""},
		Args: cobra.NoArgs,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			if cmd.Parent() != nil || o.dumpConfig {
				releaseSignals() // not the daemon
			}
		},
		RunE: o.run,
	}
	// --config and --workdir are each command's own flags, so that each says whether it
	// needs them.
	o.AddWorkdirFlag(cmd.Flags(), "output and state directory (required, except with --dump-config)")
	o.AddConfigFlag(cmd.Flags(), "project configuration file (required)")
	o.addFlags(cmd.Flags())
	cmd.AddCommand(newStatusCommand(&o.Paths), newEnqueueCommand(&o.Paths), newCancelCommand(&o.Paths),
		newPruneCommand(&o.Paths), newPollCommand(&o.Paths))
	return cmd
}

// run is pipelined: the daemon, or with --dump-config the check of a configuration file.
func (o *options) run(cmd *cobra.Command, _ []string) error {
	engines, err := parseEngines(o.engines)
	if err != nil {
		return err
	}
	if o.dumpConfig {
		// Checking a file needs no work directory.
		if o.Config == "" {
			return exitcode.Usagef("--config is required")
		}
		return dumpConfig(cmd, o.Config)
	}
	return o.daemon(cmd, engines)
}

// daemon runs the supervisor until a signal ends it.
func (o *options) daemon(cmd *cobra.Command, engines []engine.Engine) error {
	if err := o.Require(); err != nil {
		return err
	}
	buildBin, err := cli.FindSibling("pipeline-build")
	if err != nil {
		return err
	}
	watchBin, err := cli.FindSibling("pipeline-watch")
	if err != nil {
		return err
	}
	cli.SurviveBrokenPipes()
	// The daemon's main loop must not wait on its log (a stalled journald).
	log, flush := cli.NewAsyncLogger(os.Stderr)
	defer flush(time.Second)
	return supervisor.Run(cmd.Context(), supervisor.Options{
		Config:        o.Config,
		Workdir:       o.Workdir,
		Limit:         o.limit,
		Interval:      time.Duration(o.interval) * time.Second,
		PollTimeout:   time.Duration(o.pollTime) * time.Second,
		Engines:       engines,
		Grace:         o.grace,
		EngineCheck:   time.Duration(o.engineCheck) * time.Second,
		EngineTimeout: time.Duration(o.engineTimeout) * time.Second,
		Rescan:        time.Duration(o.rescan) * time.Second,
		Logger:        log,
		Build:         buildBin,
		Watch:         watchBin,
		Version:       cli.Version(),
		Signals:       early,
	})
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

// The man page's ENVIRONMENT and FILES (see cli.ManEnvironment), in the help's plain-text
// conventions.
const (
	environment = `  NOTIFY_SOCKET      set by systemd (Type=notify): pipelined sends READY=1 once it runs,
                     RELOADING=1 and READY=1 around a reload, STOPPING=1 when it stops,
                     and a STATUS= line with the builds running and queued
  JOURNAL_STREAM     set by systemd: when stderr is the journal, log lines get a syslog
                     priority prefix and no time stamp of their own
  GOMAXPROCS         threads of the Go scheduler; 1 unless set, as the daemon spends its
                     time waiting for its children
  DOCKER_HOST        the Docker engine of the builds, and of the daemon's clean-up of
                     containers left over by builds (docker's own variable)
  GIT_SSH_COMMAND    git's ssh command, for a deploy key, say (also per project, in env);
                     without it, ssh runs in batch mode, so that git never waits for a
                     password
  BUILD_*            set for every command of a build: see pipeline-build(1)

The daemon's whole environment is passed to pipeline-watch and to each pipeline-build, and
from there, below env_file and env, to every command of a build.`

	files = `  CONFIG.INI         the configuration (--config), see pipelined.ini(5)
  WORKDIR/PROJECT/REF_URLENCODED/SHORTCOMMIT[.tmp]/
                     one build: build.log, build.json, image.id, drop/ and build/ (see
                     pipeline-build(1)); .tmp while it runs and when it did not succeed;
                     its index.html is the build's page, which follows build.log while
                     the build runs (served over HTTP)
  WORKDIR/index.html
                     the status page of every project; WORKDIR/PROJECT/index.html is that
                     of one project, with each ref's older builds
  WORKDIR/badges/PROJECT/
                     each ref's badge, at a URL written as it is: branch/NAME.svg,
                     tag/NAME.svg or ref/REST.svg, each / of NAME as ~
  WORKDIR/PROJECT/REF_URLENCODED/status.svg, latest
                     the ref's badge again, and a link to its newest build
  WORKDIR/PROJECT/REF_URLENCODED/SHORTCOMMIT.recorded
                     a commit recorded without a build (build_existing = False); the
                     project's WORKDIR/PROJECT/.first-poll says its first poll is done
  WORKDIR/.pipelined/spool/
                     the job files: tmp/ (being written), new/ (queued, also those
                     waiting to be retried), cur/ (claimed by the daemon: running), bad/
                     (refused, each with a .reason file)
  WORKDIR/.pipelined/config.ini
                     the last configuration that loaded, which pipeline-watch and
                     pipeline-build read (mode 0600: it holds env values)
  WORKDIR/.pipelined/pipelined.pid
                     the daemon's pid, locked while it runs: one daemon per work
                     directory
  WORKDIR/.pipelined/poll/
                     the projects "pipelined poll PROJECT" asks to have polled now`
)

// parseEngines reads the --engine flags; each name once.
func parseEngines(specs []string) ([]engine.Engine, error) {
	var engines []engine.Engine
	seen := map[string]bool{}
	for _, spec := range specs {
		e, err := engine.Parse(spec)
		if err != nil {
			return nil, &exitcode.UsageError{Err: err}
		}
		if seen[e.Name] {
			return nil, exitcode.Usagef("--engine %s is given twice", e.Name)
		}
		seen[e.Name] = true
		engines = append(engines, e)
	}
	return engines, nil
}
