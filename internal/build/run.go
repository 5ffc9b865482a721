package build

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/config"
	"pipelined/internal/env"
	"pipelined/internal/exitcode"
	"pipelined/internal/forge"
	"pipelined/internal/git"
	"pipelined/internal/outcome"
	"pipelined/internal/procexec"
	"pipelined/internal/refname"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// ErrCanceled is returned (wrapped) when the build was canceled.
var ErrCanceled = errors.New("build canceled")

// builder holds one build's state while its steps run.
type builder struct {
	o        Options
	project  *config.Project
	layout   workdir.Layout
	ref      string
	commit   string
	short    string
	dir      string // the build directory; ends in .tmp until the build succeeds
	log      *buildlog.Log
	status   *buildlog.Status
	env      *env.Environment
	image    string         // id of the image the build step made
	leftover *leftoverCheck // the run step's check for a leftover container
	canceled atomic.Pointer[time.Time]
	failOut  *[2]int64 // where the output of the step's first failing command is in build.log

	cfg       *config.Config
	reportKey string    // the key of this build's status records, once one was queued
	delivery  *delivery // by hand without a daemon: delivers the statuses; nil otherwise
}

// Run runs one build. It returns nil for success and for a skipped build, a
// *exitcode.SilentError with status 1 for a failed one (the summary says why), an error
// wrapping ErrCanceled for a canceled one, a *exitcode.UsageError or *config.Error for bad
// input, and a *exitcode.RetryError (exit status 75) for an infrastructure error that kept
// the build from a result of its own: a full or read-only disk, a remote that could not be
// asked, an engine that does not answer (SPEC §5.1). With a job file, the job is held for
// as long as the build runs and left where it is: the supervisor decides what becomes of
// it from the exit status.
func Run(ctx context.Context, o Options) error {
	o.Grace = procexec.GraceOr(o.Grace)
	var held *spool.Held
	if o.JobFile != "" {
		var err error
		if o.JobLocked != nil {
			held, err = spool.HoldFile(o.JobLocked, o.JobFile)
		} else {
			held, err = spool.Hold(o.JobFile)
		}
		if err != nil {
			err = fmt.Errorf("job %s: %w", o.JobFile, err)
			if errors.As(err, new(*spool.RejectError)) {
				return &exitcode.UsageError{Err: err} // a bad job file is bad input
			}
			return &exitcode.RetryError{Err: err}
		}
		defer held.Release()
		o.Project, o.Ref, o.Commit = held.Job.Project, held.Job.Ref, held.Job.Commit
		if c := outcome.ReadCancel(outcome.CancelPath(o.JobFile)); c.Kind == outcome.Withdrawn {
			// Canceled between the claim and this start: nothing to build.
			if o.Summary != nil {
				fmt.Fprintf(o.Summary, "pipeline-build: %s %s: canceled before it started (%s)\n", o.Project, o.Ref, c.Reason)
			}
			return ErrCanceled
		}
	}
	b := &builder{o: o}
	// Orphans of the steps come to this process rather than to init, to be killed at the end.
	_ = procexec.BecomeSubreaper()
	stop := context.AfterFunc(ctx, func() { now := time.Now(); b.canceled.Store(&now) })
	defer stop()
	if err := b.setUp(ctx, held); err != nil {
		return b.setUpFailed(err)
	}
	b.started()
	result, reason := b.runSteps(ctx)
	// Whatever a step started and hid from its process group (setsid, a double fork) has
	// become a child of this process (a subreaper): nothing outlives the build (SPEC §8).
	procexec.KillOrphans()
	if err := b.finish(result, reason); err != nil {
		return b.unrecorded(ctx, result, reason, err)
	}
	b.reportEnd(ctx, result, reason)
	b.summary(result, reason)
	switch {
	case b.status.Retry:
		return &exitcode.RetryError{Err: errors.New(reason)}
	case result == outcome.Success, result == outcome.Skipped:
		return nil
	case result == outcome.Canceled:
		return ErrCanceled
	default:
		return &exitcode.SilentError{Code: exitcode.Failure}
	}
}

// unrecorded ends a build whose result could not be recorded: an infrastructure error.
func (b *builder) unrecorded(ctx context.Context, result, reason string, err error) error {
	reason = fmt.Sprintf("%s; and recording the result failed: %v", orResult(reason, result), err)
	b.status.Retry = true
	b.reportEnd(ctx, result, reason)
	b.summary(result, reason)
	return &exitcode.RetryError{Err: errors.New(reason)}
}

func orResult(reason, result string) string {
	if reason == "" {
		return result
	}
	return reason
}

// setUpFailed sorts out an error before the steps: bad input stays an error of its own
// (usage, configuration), a ref the remote does not have is a failed build, a build canceled
// meanwhile (while it asked the remote for its commit) is canceled, and anything else (the
// disk, the remote, the work directory) is an infrastructure error. A build directory made
// before the error records it, so that no build.json says running forever.
func (b *builder) setUpFailed(err error) error {
	reason := err.Error()
	result := outcome.Failed
	var usage *exitcode.UsageError
	var noRef *noSuchRef
	switch {
	case errors.As(err, &usage), errors.As(err, new(*config.Error)):
		// Bad input: exit status 2.
	case b.canceled.Load() != nil || errors.Is(err, ErrCanceled):
		// Not an infrastructure error: retried, it would count an attempt for each shutdown
		// or cancel that came at this moment.
		result, reason = outcome.Canceled, b.cancelRecord().Reason
		if b.o.Summary != nil {
			fmt.Fprintf(b.o.Summary, "pipeline-build: %s %s: canceled before its steps (%s)\n", b.o.Project, b.o.Ref, reason)
		}
		if !errors.Is(err, ErrCanceled) {
			err = fmt.Errorf("%w: %v", ErrCanceled, err)
		}
	case errors.As(err, &noRef):
		if b.o.Summary != nil {
			fmt.Fprintf(b.o.Summary, "pipeline-build: %s %s: failed (%s)\n", b.o.Project, b.o.Ref, reason)
		}
		err = &exitcode.SilentError{Code: exitcode.Failure}
	default:
		err = &exitcode.RetryError{Err: fmt.Errorf("infrastructure error, the job is retried: %w", err)}
	}
	if b.status != nil {
		b.status.Result, b.status.Reason, b.status.Finished = result, reason, time.Now().UTC()
		b.status.Retry = exitcode.Of(err) == exitcode.Retry
		_ = b.save()
		if b.status.Retry {
			b.startDelivery()
			b.reportEnd(context.Background(), outcome.Failed, reason)
		}
	}
	if b.log != nil {
		b.log.Close()
	}
	return err
}

// setUp loads the configuration, finds the project, resolves the ref and commit, creates
// the build directory and opens its records.
func (b *builder) setUp(ctx context.Context, held *spool.Held) error {
	o := b.o
	if err := b.loadProject(); err != nil {
		return err
	}
	process, envFile, inline := b.environment(b.cfg, o.Ref)
	projectEnv, envErr := env.ForProject(process, envFile, inline)
	gitEnv := git.SafeEnv(process)
	if envErr == nil {
		gitEnv = git.SafeEnv(projectEnv.List())
	}
	res, err := resolve(ctx, b.project.Remote, o.Ref, o.Commit, gitEnv, b.project.Timeout)
	if err != nil {
		return err
	}
	if o.JobFile != "" && outcome.ReadCancel(outcome.CancelPath(o.JobFile)).Kind == outcome.Withdrawn {
		// pipelined cancel came while the remote was asked: with no build.json yet, it had
		// no process to signal, and left its record for this build to read.
		return fmt.Errorf("%w while it asked the remote for its commit", ErrCanceled)
	}
	b.ref, b.commit, b.short = res.ref, res.commit, workdir.ShortCommit(res.commit)
	if err := b.createBuildDir(held); err != nil {
		return err
	}
	if err := b.openLog(projectEnv); err != nil {
		return err
	}
	b.noteEngine()
	if res.argv != nil {
		b.log.Step("resolve", b.status.Started)
		b.log.Prompt(res.argv)
		b.log.Note("%s", res.note)
	}
	if envErr != nil {
		b.env = nil
		b.status.Reason = envErr.Error()
		return b.save()
	}
	b.env = projectEnv
	b.setRuntimeEnv()
	return b.save()
}

// loadProject loads the configuration and the work directory, and finds the project,
// which must be enabled.
func (b *builder) loadProject() error {
	o := b.o
	cfg, err := config.Load(o.Config)
	if err != nil {
		return err
	}
	b.cfg = cfg
	if b.layout, err = workdir.New(o.Workdir); err != nil {
		return err
	}
	b.project = cfg.Project(o.Project)
	switch {
	case b.project == nil:
		return exitcode.Usagef("project %q is not in %s", o.Project, o.Config)
	case !b.project.Enabled:
		return exitcode.Usagef("project %q is disabled (enabled = False in %s, line %d)", o.Project, o.Config, b.project.Line)
	}
	return nil
}

// createBuildDir creates the build directory with its build.json and drop/.
func (b *builder) createBuildDir(held *spool.Held) error {
	o := b.o
	// A build by hand makes the work directory a work directory: status, prune and cancel
	// work on it from now on.
	if err := os.MkdirAll(b.layout.StateDir(), 0o777); err != nil {
		return err
	}
	var err error
	if b.dir, err = b.layout.Create(o.Project, b.ref, b.commit); err != nil {
		return err
	}
	start, _ := procexec.StartTime(os.Getpid())
	b.status = &buildlog.Status{Project: o.Project, Ref: b.ref, Commit: b.commit, ShortCommit: b.short,
		Path: b.dir, PID: os.Getpid(), PIDStart: start, Result: outcome.Running, Started: time.Now().UTC(), Steps: []buildlog.Command{}}
	if held != nil {
		b.status.Job = filepath.Base(held.Path)
		b.status.Source = held.Job.Source
	} else {
		b.status.Source = cmp.Or(o.Source, spool.SourceManual)
	}
	b.setCommitURL()
	// build.json first: from now on the build can be found by its job, whatever fails.
	if err := b.save(); err != nil {
		os.Remove(b.dir) // empty still; a directory without a status would count as built
		b.status = nil
		return err
	}
	return os.Mkdir(workdir.DropPath(b.dir), 0o777)
}

// openLog creates build.log, which masks the remote's credentials and, once the project's
// environment is known (nil when its env_file could not be read), its secret values.
func (b *builder) openLog(projectEnv *env.Environment) error {
	remote := b.project.Remote
	redact := func(s string) string { return git.MaskURLsIn(s, remote) }
	if projectEnv != nil {
		redact = func(s string) string { return projectEnv.Redact(git.MaskURLsIn(s, remote)) }
	}
	var err error
	b.log, err = buildlog.Create(workdir.LogPath(b.dir), redact)
	return err
}

// noteEngine records the Docker engine the supervisor chose, if it chose one.
func (b *builder) noteEngine() {
	eng := b.o.Engine
	if eng.Name == "" {
		return
	}
	b.status.Engine, b.status.DockerHost = eng.Name, eng.Host
	host := eng.Host
	if host == "" {
		host = "the environment's own Docker"
	}
	b.log.Note("engine %s (%s)", eng.Name, host)
}

// environment returns what a build's environment is composed of: no forge token reaches a
// build (SPEC §9), and a pull request's build, whose code may come from anyone's fork, gets
// no env or env_file values unless the project allows it.
func (b *builder) environment(cfg *config.Config, ref string) (process []string, envFile string, inline []env.Var) {
	process = forge.WithoutTokens(os.Environ(), cfg)
	if refname.IsPullRequest(ref) && !b.project.PullRequestSecrets {
		return process, "", nil
	}
	return process, b.project.EnvFile, b.project.Env
}

// setRuntimeEnv sets the BUILD_* variables of SPEC §7.2.
func (b *builder) setRuntimeEnv() {
	e := b.env
	e.Set(env.BuildProject, b.project.Name)
	e.Set(env.BuildRemote, b.project.Remote)
	e.Set(env.BuildRef, b.ref)
	e.Set(env.BuildRefName, refname.ShortName(b.ref))
	e.Unset(env.BuildBranch)
	e.Unset(env.BuildTag)
	e.Unset(env.BuildPullRequest)
	switch n, pr := refname.PullRequest(b.ref); {
	case pr:
		e.Set(env.BuildPullRequest, strconv.Itoa(n))
	case refname.IsBranch(b.ref):
		e.Set(env.BuildBranch, refname.ShortName(b.ref))
	default:
		e.Set(env.BuildTag, refname.ShortName(b.ref))
	}
	e.Set(env.BuildCommit, b.commit)
	e.Unset(env.BuildTagObject) // set by describeHead for an annotated tag
	if eng := b.o.Engine; eng.Name != "" {
		e.Set(env.BuildEngine, eng.Name)
		if eng.Host != "" {
			// The engine the supervisor chose wins over a DOCKER_HOST of the project's.
			e.Override("DOCKER_HOST", eng.Host)
		}
	}
	e.Set(env.BuildShortCommit, b.short)
	e.Set(env.BuildRunPath, b.dir)
	e.Set(env.BuildPath, workdir.CheckoutPath(b.dir))
	e.Set(env.BuildDropPath, workdir.DropPath(b.dir))
	e.Set(env.BuildLog, workdir.LogPath(b.dir))
}

func (b *builder) save() error { return b.status.Save(workdir.StatusPath(b.dir)) }

// finish records the result, renames the directory of a successful build and closes the
// log.
func (b *builder) finish(result, reason string) error {
	defer b.log.Close()
	now := time.Now().UTC()
	took := now.Sub(b.status.Started)
	b.status.Result, b.status.Reason = result, reason
	b.status.Finished, b.status.Seconds = now, took.Seconds()
	b.setCommitURL() // an annotated tag's commit is known after the checkout
	b.log.Result(result, took, reason)
	if result != outcome.Success {
		return b.save()
	}
	final := workdir.FinalPath(b.dir)
	b.status.Path = final
	if err := b.save(); err != nil {
		return err
	}
	if _, err := workdir.Finish(b.dir); err != nil {
		return fmt.Errorf("renaming %s: %w", b.dir, err)
	}
	b.dir = final
	return nil
}

func (b *builder) summary(result, reason string) {
	if b.o.Summary == nil {
		return
	}
	line := fmt.Sprintf("%s %s %s: %s", b.project.Name, b.ref, b.short, result)
	if reason != "" {
		line += " (" + reason + ")"
	}
	fmt.Fprintf(b.o.Summary, "pipeline-build: %s; see %s\n", line, b.dir)
}
