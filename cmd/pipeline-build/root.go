package main

import (
	"errors"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"pipelined/internal/build"
	"pipelined/internal/cli"
	"pipelined/internal/engine"
	"pipelined/internal/exitcode"
	"pipelined/internal/procexec"
	"pipelined/internal/spool"
)

// options are pipeline-build's flags.
type options struct {
	cli.Paths
	job     string
	grace   time.Duration
	engine  string
	deliver bool
	source  string
}

func (o *options) addFlags(fs *pflag.FlagSet) {
	o.Paths.AddFlags(fs)
	fs.Var(cli.Named(&o.job, "FILE"), "job", "job file to build (how pipelined calls it); instead of PROJECT REF [COMMIT]")
	fs.Var(cli.Grace(&o.grace), "grace", "on a signal, time to stop the current command, remove its container and run error_callback")
	fs.Var(cli.Named(&o.source, "WORD"), "source", `what started the build, recorded in build.json and shown on the status pages: a short lower-case word, such as cron (default: manual); a job file has its own`)
	fs.BoolVar(&o.deliver, "deliver", false, "build nothing: deliver the forge statuses waiting in the work directory's outbox, then exit (how pipelined delivers them)")
	fs.Var(cli.Named(&o.engine, "NAME[=DOCKER_HOST]"), "engine", `the Docker engine to build on (pipelined passes the one it chose): its DOCKER_HOST for every docker command; an engine not named "local" gets the checkout copied in and the artifacts copied out instead of bind mounts`)
}

const long = `pipeline-build runs one complete build and exits. pipelined starts one per job; you can
also run it by hand or from cron.

It creates WORKDIR/PROJECT/REF_URLENCODED/SHORTCOMMIT.tmp/ with build.log (every command
line, then its output as it comes), build.json (the status, rewritten at every step), drop/
(the artifacts, /drop in the container) and build/ (the checkout, /build in the
container), runs the steps the project's configuration enables, and on success renames the
directory to SHORTCOMMIT. REF may be a full ref (refs/heads/main, refs/tags/v1.2) or a
branch or tag name (main, v1.2). Without COMMIT, the ref's current commit is asked of the
remote with git ls-remote. A commit that can no longer be checked out is skipped.

Example:
  pipeline-build --config /etc/pipelined.ini --workdir /var/pipelined \
      example-project main

SIGNALS
  SIGINT, SIGTERM, SIGQUIT  cancel the build: stop the running command (and container),
                            run error_callback with BUILD_STATUS=canceled, record
                            "canceled", keep the .tmp directory, and exit within --grace.
                            A second signal ends the process at once, with everything
                            its steps and callbacks still run.

EXIT STATUS
  0    the build succeeded, or was skipped (its commit is no longer on the remote)
  1    the build failed: a step failed, or the remote has no such ref
  2    bad input: usage, an invalid configuration, an unknown or disabled project, a ref
       git would refuse, a bad commit or job file
  75   an infrastructure error kept the build from a result of its own (a full or
       read-only disk, a remote that could not be asked, a Docker engine that does not
       answer); pipelined keeps the job and tries again later
  130  canceled by SIGINT, 143 by SIGTERM, 131 by SIGQUIT`

func newRootCommand() *cobra.Command {
	o := options{grace: procexec.DefaultGrace}
	cmd := &cobra.Command{
		Use:         "pipeline-build --config CONFIG.INI --workdir PATH (--job FILE | PROJECT REF [COMMIT])",
		Short:       "Run one build of a project's ref: clone, checkout, callbacks, docker build and run, rsync",
		Long:        long,
		Annotations: map[string]string{cli.ManEnvironment: environment, cli.ManFiles: files},
		Args:        cobra.RangeArgs(0, 3),
		RunE:        o.run,
	}
	o.addFlags(cmd.Flags())
	return cmd
}

// run is pipeline-build: one build, or with --deliver the outbox's statuses.
func (o *options) run(cmd *cobra.Command, args []string) error {
	if o.deliver {
		return o.deliverStatuses(cmd, args)
	}
	bo, err := o.buildOptions(args)
	if err != nil {
		return err
	}
	// Under a daemon that has died, stderr is a pipe nobody reads: the build goes on
	// and finishes its job rather than dying of SIGPIPE on its summary line.
	cli.SurviveBrokenPipes()
	stopSignals := []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT}
	defer endAtSecondSignal(stopSignals)()
	ctx, caught, stop := cli.CancelOnSignals(cmd.Context(), stopSignals...)
	defer stop()
	bo.Summary = cmd.ErrOrStderr()
	err = build.Run(ctx, bo)
	if sig := caught(); sig != nil && errors.Is(err, build.ErrCanceled) {
		return sig
	}
	return err
}

func (o *options) buildOptions(args []string) (build.Options, error) {
	if err := o.Require(); err != nil {
		return build.Options{}, err
	}
	bo := build.Options{Config: o.Config, Workdir: o.Workdir, JobFile: o.job, Grace: o.grace}
	if fd, err := strconv.Atoi(os.Getenv(spool.JobFDEnv)); err == nil && o.job != "" && fd > 2 {
		// pipelined locked the job and handed it down: nothing of it reaches the steps.
		os.Unsetenv(spool.JobFDEnv)
		syscall.CloseOnExec(fd)
		bo.JobLocked = os.NewFile(uintptr(fd), o.job)
	}
	if o.engine != "" {
		spec := o.engine
		if !strings.Contains(spec, "=") {
			spec += "=" // the environment's DOCKER_HOST
		}
		e, err := engine.Parse(spec)
		if err != nil {
			return bo, &exitcode.UsageError{Err: err}
		}
		bo.Engine = e
	}
	switch {
	case o.source != "" && !spool.ValidSource(o.source):
		return bo, exitcode.Usagef("--source %q is not a short lower-case word", o.source)
	case o.source != "" && o.job != "":
		return bo, exitcode.Usagef("--source is for PROJECT REF [COMMIT]: a job file has its own source")
	case o.job != "" && len(args) > 0:
		return bo, exitcode.Usagef("give either --job FILE or PROJECT REF [COMMIT], not both")
	case o.job == "" && len(args) < 2:
		return bo, exitcode.Usagef("give PROJECT REF [COMMIT], or --job FILE")
	case o.job == "":
		bo.Project, bo.Ref, bo.Source = args[0], args[1], o.source
		if len(args) == 3 {
			bo.Commit = args[2]
		}
	}
	return bo, nil
}

// The man page's ENVIRONMENT and FILES (see cli.ManEnvironment), in the help's plain-text
// conventions.
const (
	environment = `Every git, docker, rsync and callback command of a build gets the environment of
pipeline-build (under pipelined, the daemon's), then the project's env_file and env, then
these variables, which nothing overrides. Values of env and env_file reach docker by name
only (--build-arg NAME, --env NAME), never on a command line.

  BUILD_PROJECT      the project (section) name
  BUILD_REMOTE       the remote
  BUILD_REF          the full ref: refs/heads/main or refs/tags/v1.2
  BUILD_REF_NAME     the branch or tag name: main or v1.2
  BUILD_BRANCH, BUILD_TAG
                     the branch name or the tag name, whichever applies
  BUILD_COMMIT, BUILD_SHORT_COMMIT
                     the commit (40 or 64 hex digits) and its first 8; once checked out,
                     the commit that was checked out
  BUILD_TAG_OBJECT   for an annotated tag: the tag object, which names the build
                     directory
  BUILD_RUN_PATH     the build directory
  BUILD_PATH         the checkout (/build in the container)
  BUILD_DROP_PATH    the artifacts directory (/drop in the container)
  BUILD_LOG          build.log
  BUILD_IMAGE        the image id, for the steps after docker build
  BUILD_STATUS, BUILD_STEP
                     for error_callback: failed, canceled or skipped, and the step

These also matter to pipeline-build itself:

  DOCKER_HOST        the Docker engine that builds and runs the image (docker's own)
  GIT_SSH_COMMAND    git's ssh command, for a deploy key, say (also per project, in env);
                     without it, ssh runs in batch mode, so that git never waits for a
                     password; git also gets GIT_TERMINAL_PROMPT=0
  GOMAXPROCS         threads of the Go scheduler; 1 unless set`

	files = `  CONFIG.INI         the configuration (--config), see pipelined.ini(5); under
                     pipelined, its copy WORKDIR/.pipelined/config.ini
  FILE               the job file of --job; under pipelined, one in
                     WORKDIR/.pipelined/spool/cur/
  WORKDIR/PROJECT/REF_URLENCODED/SHORTCOMMIT.tmp/
                     the build directory (BUILD_RUN_PATH) while the build runs; renamed
                     to SHORTCOMMIT when it succeeds, left as .tmp when it fails, is
                     skipped or canceled. A rebuild of a commit gets SHORTCOMMIT-2, -3, …
  .../build.log      every command line, then its output as it comes; step markers; the
                     result (BUILD_LOG)
  .../build.json     the status, rewritten at every step: the job and what started it
                     (source), each step's command, start, end and exit status, the
                     image id, the result and timings; the commit's link (commit_url);
                     a failed build's failing command's last lines (failed_output: at
                     most 20 lines, 4 KiB, env values masked)
  .../index.html     the build's page, which pipelined writes
  .../build/         the checkout, /build in the container (BUILD_PATH)
  .../drop/          the artifacts, /drop in the container (BUILD_DROP_PATH)
  .../image.id       the id of the image docker build made`
)

// endAtSecondSignal makes a second stop signal end pipeline-build at once, as it ends any
// command, but not before it has killed what its steps run: a callback still running
// would otherwise outlive the build (the first signal cancels the build; see
// cli.CancelOnSignals). Call the function it returns when the build is over.
func endAtSecondSignal(sigs []os.Signal) (stop func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, sigs...)
	done := make(chan struct{})
	go func() {
		for seen := 0; ; seen++ {
			select {
			case sig := <-ch:
				if seen == 0 {
					continue // the first one cancels the build
				}
				procexec.KillOrphans()
				signal.Reset(sig)
				syscall.Kill(os.Getpid(), sig.(syscall.Signal))
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(ch); close(done) }
}

// deliverStatuses is pipeline-build --deliver: until the outbox is empty, or a stop signal.
func (o *options) deliverStatuses(cmd *cobra.Command, args []string) error {
	if err := o.Require(); err != nil {
		return err
	}
	if len(args) > 0 || o.job != "" {
		return exitcode.Usagef("--deliver builds nothing: give no job, project or ref")
	}
	cli.SurviveBrokenPipes()
	ctx, _, stop := cli.CancelOnSignals(cmd.Context(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT)
	defer stop()
	return build.DeliverStatuses(ctx, o.Config, o.Workdir, cli.NewLogger(os.Stderr))
}
