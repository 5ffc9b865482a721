package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/docker"
	"pipelined/internal/env"
	"pipelined/internal/git"
	"pipelined/internal/outcome"
	"pipelined/internal/procexec"
	"pipelined/internal/rsync"
	"pipelined/internal/workdir"
)

// Step names, as build.log, build.json and BUILD_STEP give them.
const (
	StepEnv             = "env"
	StepClone           = "clone"
	StepCheckout        = "checkout"
	StepPrepare         = "prepare"
	StepDockerBuild     = "docker-build"
	StepDockerRun       = "docker-run"
	StepRsync           = "rsync"
	StepSuccessCallback = "success-callback"
	StepErrorCallback   = "error-callback"
)

// errSkip marks a commit that cannot be checked out: the build is skipped, not failed.
var errSkip = errors.New("skipped")

type step struct {
	name string
	run  func(ctx context.Context) error
}

// steps lists the steps of this project's pipeline, in order (SPEC §7.1).
func (b *builder) steps() []step {
	p := b.project
	steps := []step{{StepClone, b.clone}, {StepCheckout, b.checkout}}
	if p.PrepareCallback != nil {
		steps = append(steps, step{StepPrepare, b.callback(StepPrepare, p.PrepareCallback)})
	}
	if p.Build {
		steps = append(steps, step{StepDockerBuild, b.dockerBuild})
	}
	if p.Run {
		steps = append(steps, step{StepDockerRun, b.dockerRun})
	}
	if p.Rsync.Destination != "" {
		steps = append(steps, step{StepRsync, b.rsync})
	}
	if p.SuccessCallback != nil {
		steps = append(steps, step{StepSuccessCallback, b.callback(StepSuccessCallback, p.SuccessCallback)})
	}
	return steps
}

// runSteps runs the pipeline and, unless it succeeded, error_callback. It returns the
// result and the reason for anything but success.
//
// A step's own exit status is its result: when every step has run and exited 0, the build
// succeeded, whatever signal arrived meanwhile (a success_callback that ignores SIGTERM and
// finishes has deployed; calling it canceled would deploy again at the rebuild).
func (b *builder) runSteps(ctx context.Context) (result, reason string) {
	var failed string
	var err error
	completed := false
	if b.env == nil {
		// The env_file could not be read: no step can run, but error_callback still does,
		// with the inline variables.
		failed, err = StepEnv, errors.New(b.status.Reason)
		b.env = env.Compose(os.Environ(), nil, b.project.Env)
		b.setRuntimeEnv()
	} else {
		steps := b.steps()
		for i, s := range steps {
			if ctx.Err() != nil {
				break
			}
			b.log.Step(s.name, time.Now())
			start := b.log.Size()
			b.failOut = nil
			if err = s.run(ctx); err != nil {
				failed = s.name
				if full := b.diskFull(s.name, start); full != "" && ctx.Err() == nil && !errors.Is(err, errSkip) {
					// Not the project's failure: the work directory's disk (SPEC §5.1).
					b.status.Retry = true
					err = fmt.Errorf("%v; %s: the job is retried", err, full)
				}
				break
			}
			completed = i == len(steps)-1
		}
	}
	if b.leftover != nil {
		<-b.leftover.done // a failed image build leaves the check running: no process outlives the build
	}
	switch {
	case completed:
		return outcome.Success, ""
	case errors.Is(err, errSkip):
		result, reason = outcome.Skipped, err.Error()
	case ctx.Err() != nil:
		c := b.cancelRecord()
		result, reason = outcome.Canceled, c.Reason
		if failed == "" {
			failed = "between steps"
		}
		if c.Kind == outcome.Interrupted {
			// Stopped for an infrastructure reason (its Docker engine stopped answering): not
			// the project's result. The job is retried, and error_callback waits for one.
			result, b.status.Retry = outcome.Failed, true
		}
	default:
		result, reason = outcome.Failed, fmt.Sprintf("%s: %v", failed, err)
		b.status.FailedOutput = b.failedOutput()
	}
	b.status.FailedStep = failed
	b.status.Result = result
	b.status.Reason = reason // for error_callback, which may read build.json (scripts/notify)
	if result == outcome.Failed && (failed == StepDockerBuild || failed == StepDockerRun) {
		if down := b.engineDown(ctx); down != nil {
			// Not the project's failure: the engine went away under it (SPEC §5.1).
			b.status.Retry, b.status.EngineDown = true, true
			reason = fmt.Sprintf("%s; the Docker engine does not answer (%v): the job is retried", reason, down)
		}
	}
	_ = b.save()
	if !b.status.Retry {
		b.errorCallback(ctx, result, failed)
	}
	return result, reason
}

// cancelRecord is why the build was canceled: the record `pipelined cancel` or the
// supervisor left beside its job, or in the build directory of a build run by hand. A
// cancel without a record came from a signal from elsewhere.
func (b *builder) cancelRecord() outcome.Cancel {
	if b.o.JobFile != "" {
		if c := outcome.ReadCancel(outcome.CancelPath(b.o.JobFile)); c.Kind != outcome.NotCanceled {
			return c
		}
	}
	if b.dir == "" {
		return outcome.Cancel{Reason: "canceled by a signal"} // canceled before its directory was made
	}
	if c := outcome.ReadCancel(outcome.BuildCancelPath(b.dir)); c.Kind != outcome.NotCanceled {
		return c
	}
	return outcome.Cancel{Reason: "canceled by a signal"}
}

// diskFull says why a failed step looks like the work directory's disk being full, or "":
// the file system has next to no room left, or a git step (whose failed clone git removes
// again) said so in its output.
func (b *builder) diskFull(step string, logFrom int64) string {
	if free, ok := freeBytes(b.dir); ok && free < minFreeBytes {
		return fmt.Sprintf("the disk of the work directory is full (%d KiB free)", free>>10)
	}
	if step != StepClone && step != StepCheckout {
		return "" // a full /tmp in a container, say, is the project's
	}
	out := b.log.Since(logFrom, 64<<10)
	for _, msg := range []string{"No space left on device", "Disk quota exceeded"} {
		if strings.Contains(out, msg) {
			return "the disk of the work directory is full (" + msg + ")"
		}
	}
	return ""
}

// minFreeBytes: a file system with less room than this is full for a build.
const minFreeBytes = 1 << 20

// freeBytes is the room left on the file system of path for an unprivileged writer.
func freeBytes(path string) (uint64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, false
	}
	return st.Bavail * uint64(st.Bsize), true
}

// engineDown asks the Docker engine for its version, bounded, after a docker step failed:
// an error means the engine, not the project, is at fault.
func (b *builder) engineDown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, engineProbeTimeout)
	defer cancel()
	var out strings.Builder
	_, err := procexec.Run(ctx, procexec.Cmd{Argv: docker.VersionArgs(), Env: b.env.List(), Output: &out, Grace: time.Second})
	if err != nil {
		if msg := strings.TrimSpace(out.String()); msg != "" {
			return errors.New(clipLine(msg))
		}
		return err
	}
	return nil
}

// engineProbeTimeout bounds `docker version` after a docker step failed.
const engineProbeTimeout = 15 * time.Second

// clipLine keeps the first line of a message, at most 200 bytes.
func clipLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// command runs one command of a step with the build's environment (made safe for git: see
// git.SafeEnv; a project's own GIT_SSH_COMMAND, a deploy key, is kept), its output going
// straight into build.log, and records it. Its process group is in build.json while it
// runs, for the supervisor to kill should pipeline-build die.
func (b *builder) command(ctx context.Context, step string, argv []string, dir string, e *env.Environment, onStop func()) error {
	return b.commandWithin(ctx, step, argv, dir, e, onStop, b.project.Timeout)
}

// commandWithin is command with a timeout of its own; 0 for none.
func (b *builder) commandWithin(ctx context.Context, step string, argv []string, dir string, e *env.Environment, onStop func(), timeout time.Duration) error {
	return b.run(ctx, step, argv, dir, e, onStop, timeout, nil)
}

// commandCapture is command with its output copied into capture as well as build.log.
func (b *builder) commandCapture(ctx context.Context, step string, argv []string, dir string, capture io.Writer) error {
	return b.run(ctx, step, argv, dir, b.env, nil, b.project.Timeout, capture)
}

// run runs one command for command, commandWithin and commandCapture.
func (b *builder) run(ctx context.Context, step string, argv []string, dir string, e *env.Environment, onStop func(), timeout time.Duration, capture io.Writer) error {
	b.log.Prompt(argv)
	outFrom := b.log.Size()
	var output io.Writer = b.log.File()
	if capture != nil {
		output = io.MultiWriter(b.log.File(), capture)
	}
	grace := stopGrace(b.o.Grace)
	if b.canceled.Load() != nil {
		grace = cleanupMargin / 2 // cleanup after a cancel: its context has the budget
	}
	var group procexec.Group
	res, err := procexec.Run(ctx, procexec.Cmd{
		Argv:    argv,
		Dir:     dir,
		Env:     git.SafeEnv(e.List()),
		Output:  output,
		Timeout: timeout,
		Grace:   grace,
		OnStop:  onStop,
		OnStart: func(pid int) {
			group, _ = procexec.GroupOf(pid)
			b.setGroups(append(b.status.Groups, group))
		},
	})
	res, err = ownExit(step, res, err)
	// The save below records the step; a save of its own for the ended group would only
	// cost a rename per command.
	b.status.Groups = slices.DeleteFunc(b.status.Groups, func(g procexec.Group) bool { return g == group })
	b.noteFailure(err != nil || res.TimedOut, outFrom)
	b.log.Exit(res, err)
	end := res.Start.Add(res.Duration)
	b.status.Steps = append(b.status.Steps, buildlog.Command{Step: step, Argv: b.redactArgv(argv), Start: res.Start.UTC(),
		End: end.UTC(), Exit: res.ExitCode, Outcome: buildlog.Outcome(res, err), TimedOut: res.TimedOut})
	_ = b.save()
	if res.TimedOut {
		return fmt.Errorf("%s timed out after %v", argv[0], timeout)
	}
	return err
}

// ownExit makes a command's own exit status its result: a command that exited 0 by itself
// succeeded, even though a cancel came while it ran (a success_callback that ignores
// SIGTERM and finishes has deployed; calling it canceled would deploy again when its job is
// built again). A command killed by the cancel's signals, or one that exited non-zero, was
// canceled; a timeout stays a timeout. The docker steps are the exception: their command
// is docker's client, whose exit status once it is told to stop is not the container's (a
// client whose engine hangs was seen to exit 0 on SIGTERM while its container ran on).
func ownExit(step string, res procexec.Result, err error) (procexec.Result, error) {
	if step == StepDockerBuild || step == StepDockerRun {
		return res, err
	}
	if errors.Is(err, procexec.ErrCanceled) && !res.TimedOut && res.Pid != 0 && res.ExitCode == 0 && res.Signal == 0 {
		res.Canceled = false
		return res, nil
	}
	return res, err
}

// setGroups records the process groups of the commands running now. The cleanup of a
// canceled command (docker stop and rm, from OnStop) runs while it is being stopped; the
// builder's goroutine waits meanwhile, so the status is never written by two at once.
func (b *builder) setGroups(groups []procexec.Group) {
	b.status.Groups = groups
	_ = b.save()
}

// redactArgv is argv as build.json records it: a remote's credentials masked.
func (b *builder) redactArgv(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = git.MaskURLsIn(a, b.project.Remote)
	}
	return out
}

// networkTimeout bounds a git command that talks to the remote: the project's timeout, or
// the default bound of a clone.
func (b *builder) networkTimeout() time.Duration {
	if b.project.Timeout > 0 {
		return b.project.Timeout
	}
	return DefaultCloneTimeout
}

func (b *builder) checkoutPath() string { return workdir.CheckoutPath(b.dir) }

func (b *builder) clone(ctx context.Context) error {
	branch := git.ShortName(b.ref)
	if git.IsPullRequest(b.ref) {
		branch = "" // no branch: the request's head is fetched by its ref next
	}
	argv := git.CloneArgs(b.dir, b.project.Remote, b.project.Shallow, branch)
	if err := b.commandWithin(ctx, StepClone, argv, b.dir, b.env, nil, b.networkTimeout()); err != nil || branch != "" {
		return err
	}
	dir := b.checkoutPath()
	return b.commandWithin(ctx, StepClone, git.FetchRefArgs(dir, b.ref, b.project.Shallow), dir, b.env, nil, b.networkTimeout())
}

// checkout checks out the commit. A shallow clone may not contain it if the ref moved on
// since the job was written; then it is fetched by id, which servers may allow. A commit
// that still is not there skips the build: the newer commit has a job of its own. A commit
// that is there but cannot be checked out fails the build.
func (b *builder) checkout(ctx context.Context) error {
	if err := b.checkoutCommit(ctx); err != nil {
		return err
	}
	return b.describeHead(ctx)
}

// checkoutCommit is checkout without describing the result.
func (b *builder) checkoutCommit(ctx context.Context) error {
	dir := b.checkoutPath()
	err := b.command(ctx, StepCheckout, git.CheckoutArgs(dir, b.commit), dir, b.env, nil)
	var exit *procexec.ExitError
	if err == nil || !errors.As(err, &exit) {
		return err
	}
	if b.has(ctx) {
		return err
	}
	if b.project.Shallow {
		b.log.Note("%s is not in the shallow clone of %s; fetching it by id", b.short, git.ShortName(b.ref))
		if ferr := b.commandWithin(ctx, StepCheckout, git.FetchCommitArgs(dir, b.commit), dir, b.env, nil, b.networkTimeout()); ferr == nil {
			return b.command(ctx, StepCheckout, git.CheckoutArgs(dir, b.commit), dir, b.env, nil)
		} else if !errors.As(ferr, &exit) {
			return ferr
		}
	}
	return fmt.Errorf("%w: commit %s is not in the clone of %s (the ref has moved on, or the commit is not on the remote)", errSkip, b.short, b.project.Remote)
}

// describeHead records the commit that was checked out and its subject line (for the status
// pages). An annotated tag names a tag object, not a commit: then BUILD_COMMIT and
// BUILD_SHORT_COMMIT become the tagged commit, and BUILD_TAG_OBJECT the tag object, which
// still names the build directory.
func (b *builder) describeHead(ctx context.Context) error {
	dir := b.checkoutPath()
	var out strings.Builder
	if err := b.commandCapture(ctx, StepCheckout, git.DescribeHeadArgs(dir), dir, &out); err != nil {
		return err
	}
	head, subject, _ := strings.Cut(strings.TrimRight(out.String(), "\n"), "\n")
	if !git.ValidCommit(head) {
		return fmt.Errorf("git show printed %q, not a commit id", clipLine(head))
	}
	b.status.Subject = subject
	if head != b.commit {
		b.status.TagObject = b.commit
		b.status.Commit, b.status.ShortCommit = head, workdir.ShortCommit(head)
		b.env.Set(env.BuildCommit, head)
		b.env.Set(env.BuildShortCommit, workdir.ShortCommit(head))
		b.env.Set(env.BuildTagObject, b.commit)
		b.log.Note("%s is the tag object of commit %s", workdir.ShortCommit(b.commit), head)
	}
	return b.save()
}

// has reports whether the clone contains the commit.
func (b *builder) has(ctx context.Context) bool {
	dir := b.checkoutPath()
	return b.command(ctx, StepCheckout, git.HasCommitArgs(dir, b.commit), dir, b.env, nil) == nil
}

// callback returns a step that runs an operator's command in the checkout.
func (b *builder) callback(step string, argv []string) func(context.Context) error {
	return func(ctx context.Context) error {
		return b.command(ctx, step, argv, b.checkoutPath(), b.env, nil)
	}
}

func (b *builder) labels() docker.Labels {
	job := b.status.Job
	if job == "" {
		job = "manual"
	}
	return docker.Labels{Workdir: b.layout.Root, Project: b.project.Name, Ref: b.ref, Commit: b.commit, Job: job, Build: b.dir}
}

func (b *builder) dockerBuild(ctx context.Context) error {
	p := b.project
	if p.Run {
		// The leftover check of the run step asks the engine about a container name that
		// is already known; it runs alongside the image build instead of after it.
		b.leftover = b.startLeftoverCheck(ctx, docker.ContainerName(p.Name, b.short, b.dir))
	}
	tag, label, err := b.interpolate(p.Tag, p.Label)
	if err != nil {
		return err
	}
	if err := insideCheckout(b.checkoutPath(), p.Dockerfile); err != nil {
		return err
	}
	iid := workdir.ImageIDPath(b.dir)
	argv := docker.BuildArgs(docker.BuildOptions{BuildPath: b.checkoutPath(), Dockerfile: p.Dockerfile, Pull: p.Pull,
		Cache: p.Cache, Tag: tag, Label: label, Labels: b.labels(), BuildArgs: b.env.DockerNames(), IIDFile: iid})
	if err := b.command(ctx, StepDockerBuild, argv, b.dir, b.env, nil); err != nil {
		if errors.Is(err, procexec.ErrCanceled) || errors.Is(err, procexec.ErrTimedOut) {
			b.removeBuildContainers(ctx)
		}
		return err
	}
	id, err := os.ReadFile(iid)
	if err != nil || len(strings.TrimSpace(string(id))) == 0 {
		return fmt.Errorf("docker build wrote no image id to %s", iid)
	}
	b.image = strings.TrimSpace(string(id))
	b.status.Image, b.status.Tag = b.image, normalTag(tag)
	b.env.Set(env.BuildImage, b.image)
	b.log.Note("image %s", b.image)
	return b.save()
}

// normalTag is a tag as docker lists it in an image's RepoTags: with ":latest" when it
// names no tag of its own.
func normalTag(tag string) string {
	if tag == "" {
		return ""
	}
	if i := strings.LastIndexByte(tag, ':'); i < 0 || strings.Contains(tag[i:], "/") {
		return tag + ":latest"
	}
	return tag
}

// interpolate expands the $-templates of tag and label (SPEC §7.3).
func (b *builder) interpolate(tag, label string) (string, string, error) {
	var err error
	if tag != "" {
		if tag, err = b.env.Interpolate("tag", tag); err != nil {
			return "", "", err
		}
	}
	if label != "" {
		if label, err = b.env.Interpolate("label", label); err != nil {
			return "", "", err
		}
	}
	return tag, label, nil
}

// insideCheckout refuses a Dockerfile that is, or leads through a symlink to, a file
// outside the checkout: the checkout is the remote's content, not the operator's.
func insideCheckout(checkout, dockerfile string) error {
	root, err := filepath.EvalSymlinks(checkout)
	if err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(filepath.Join(checkout, dockerfile))
	if err != nil {
		return fmt.Errorf("dockerfile %s: %w", dockerfile, err)
	}
	if rel, err := filepath.Rel(root, real); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("dockerfile %s leads outside the checkout", dockerfile)
	}
	return nil
}

func (b *builder) dockerRun(ctx context.Context) error {
	p := b.project
	_, label, err := b.interpolate("", p.Label)
	if err != nil {
		return err
	}
	if b.local() {
		for _, path := range []string{b.checkoutPath(), workdir.DropPath(b.dir)} {
			if err := docker.CheckMountPath(path); err != nil {
				return err
			}
		}
	}
	name := docker.ContainerName(p.Name, b.short, b.dir)
	b.status.Container = name
	b.finishLeftoverCheck(name)

	// Inside the container the checkout and the artifacts are at /build and /drop; the
	// host's run directory and log are not there at all.
	runEnv := b.env.Clone()
	runEnv.Set(env.BuildPath, "/build")
	runEnv.Set(env.BuildDropPath, "/drop")
	runEnv.Unset(env.BuildRunPath)
	runEnv.Unset(env.BuildLog)
	opts := docker.RunOptions{BuildPath: b.checkoutPath(), DropPath: workdir.DropPath(b.dir), Name: name,
		ReadOnly: p.ReadOnly, DockerInDocker: p.DockerInDocker, Label: label, Labels: b.labels(),
		TmpfsPercent: p.Tmpfs, Env: runEnv.DockerNames(), Image: b.image}
	// Killing the docker client leaves the container running, and --rm only acts once it
	// exits: on cancel or timeout the container is stopped and removed by name, on a
	// context of its own that the cancel does not end (SPEC §7.4).
	onStop := func() {
		grace := stopGrace(b.o.Grace)
		cleanup, cancel := b.cleanupContext(ctx, grace+5*time.Second)
		defer cancel()
		_ = b.command(cleanup, StepDockerRun, docker.StopArgs(name, int(grace.Seconds())), b.dir, b.env, nil)
		_ = b.command(cleanup, StepDockerRun, docker.RemoveWithVolumesArgs(name), b.dir, b.env, nil)
	}
	if b.local() {
		return b.command(ctx, StepDockerRun, docker.RunArgs(opts), b.dir, runEnv, onStop)
	}
	return b.runElsewhere(ctx, opts, runEnv, onStop)
}

// local reports whether the build's engine shares this host's file system: the
// environment's own Docker, or the engine named "local".
func (b *builder) local() bool { return b.o.Engine.Name == "" || b.o.Engine.IsLocal() }

// runElsewhere is the run step on an engine that cannot see this host's files: create the
// container (with /build and /drop volumes of its own), copy the checkout in, start it
// attached, copy /drop back into the build's drop/, and remove it with its volumes —
// with the flags, labels, names, cancellation and log lines of the local run.
func (b *builder) runElsewhere(ctx context.Context, opts docker.RunOptions, runEnv *env.Environment, onStop func()) error {
	name := opts.Name
	if err := b.command(ctx, StepDockerRun, docker.CreateArgs(opts), b.dir, runEnv, nil); err != nil {
		return err
	}
	defer func() {
		cleanup, cancel := b.cleanupContext(ctx, stopGrace(b.o.Grace)+5*time.Second)
		defer cancel()
		_ = b.command(cleanup, StepDockerRun, docker.RemoveWithVolumesArgs(name), b.dir, b.env, nil)
	}()
	if err := b.command(ctx, StepDockerRun, docker.CopyInArgs(opts.BuildPath, name), b.dir, b.env, nil); err != nil {
		return err
	}
	runErr := b.command(ctx, StepDockerRun, docker.StartArgs(name), b.dir, b.env, onStop)
	if ctx.Err() != nil {
		return runErr
	}
	// The attached client can lose its stream (an ssh connection) before the container
	// ends: docker wait says when it has, and with which status.
	var status strings.Builder
	if err := b.commandCapture(ctx, StepDockerRun, docker.WaitArgs(name), b.dir, &status); err != nil {
		return err
	}
	if code := strings.TrimSpace(status.String()); code != "0" && runErr == nil {
		runErr = fmt.Errorf("the container exited with status %s", code)
	}
	// The artifacts come back whether the run succeeded or not, as with a bind mount.
	if err := b.command(ctx, StepDockerRun, docker.CopyOutArgs(name, opts.DropPath), b.dir, b.env, nil); err != nil && runErr == nil {
		return err
	}
	return runErr
}

// leftoverCheck is `docker rm -f NAME` for a container of the same name that an earlier
// attempt in a build directory of the same name left (SPEC §7.4); no such container is
// the usual case.
type leftoverCheck struct {
	done chan struct{}
	out  strings.Builder
	res  procexec.Result
	err  error
}

func (b *builder) startLeftoverCheck(ctx context.Context, name string) *leftoverCheck {
	c := &leftoverCheck{done: make(chan struct{})}
	env := git.SafeEnv(b.env.List())
	go func() {
		defer close(c.done)
		c.res, c.err = procexec.Run(ctx, procexec.Cmd{Argv: docker.RemoveArgs(name), Env: env, Output: &c.out,
			Grace: stopGrace(b.o.Grace)})
	}()
	return c
}

// finishLeftoverCheck waits for the check and writes it into build.log.
func (b *builder) finishLeftoverCheck(name string) {
	c := b.leftover
	if c == nil {
		return
	}
	<-c.done
	b.log.Prompt(docker.RemoveArgs(name))
	if strings.Contains(c.out.String(), "No such container") {
		b.log.Note("no leftover container %s", name)
		return
	}
	b.log.File().WriteString(c.out.String())
	b.log.Exit(c.res, c.err)
}

// removeBuildContainers removes what an interrupted docker build may leave: the engine
// does not always remove the intermediate container of the step it was in. Only a build
// of the same project, ref, commit and job could share those labels, and the supervisor
// never runs two of those at once.
func (b *builder) removeBuildContainers(ctx context.Context) {
	cleanup, cancel := b.cleanupContext(ctx, stopGrace(b.o.Grace))
	defer cancel()
	var out strings.Builder
	_, err := procexec.Run(cleanup, procexec.Cmd{Argv: docker.IntermediateArgs(b.labels()), Env: b.env.List(), Output: &out})
	if ids := strings.Fields(out.String()); err == nil && len(ids) > 0 {
		_ = b.command(cleanup, StepDockerBuild, append(docker.RemoveArgs(ids[0]), ids[1:]...), b.dir, b.env, nil)
	}
}

func (b *builder) rsync(ctx context.Context) error {
	p := b.project
	dest, err := b.env.Interpolate("rsync.destination", p.Rsync.Destination)
	if err != nil {
		return err
	}
	include := p.Rsync.Include
	if include != "" && !filepath.IsAbs(include) {
		include = filepath.Join(b.checkoutPath(), include)
	}
	src := b.checkoutPath()
	if p.Run {
		src = workdir.DropPath(b.dir)
	}
	mkpath, err := b.prepareDestination(ctx, dest)
	if err != nil {
		return err
	}
	argv := rsync.Args(rsync.Options{Source: src, Destination: dest, Checksum: p.Rsync.Checksum,
		Preserve: p.Rsync.Preserve, Delete: p.Rsync.Delete, IncludeFrom: include, MkPath: mkpath})
	return b.explainRsync(b.command(ctx, StepRsync, argv, b.dir, b.env, nil), dest, mkpath)
}

// errorCallback runs error_callback after a failed, skipped or canceled build, with
// BUILD_STATUS and BUILD_STEP. After a cancel it has what remains of the grace period.
func (b *builder) errorCallback(ctx context.Context, result, failed string) {
	argv := b.project.ErrorCallback
	if argv == nil {
		return
	}
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = b.cleanupContext(ctx, b.o.Grace)
		defer cancel()
	}
	e := b.env.Clone()
	e.Set(env.BuildStatus, result)
	e.Set(env.BuildStep, failed)
	dir := b.checkoutPath()
	if _, err := os.Stat(dir); err != nil {
		dir = b.dir // the clone never happened
	}
	b.log.Step(StepErrorCallback, time.Now())
	_ = b.command(ctx, StepErrorCallback, argv, dir, e, nil)
}

// cleanupContext is a context for work that must happen although the build was canceled
// or a command timed out (stopping a container, removing it, error_callback): the cancel
// does not end it, it lasts at most limit, and after a cancel never beyond the grace period
// less cleanupMargin, which the final records need.
func (b *builder) cleanupContext(ctx context.Context, limit time.Duration) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(limit)
	if ctx.Err() != nil {
		at := time.Now()
		if p := b.canceled.Load(); p != nil {
			at = *p
		}
		if d := at.Add(b.o.Grace - cleanupMargin); d.Before(deadline) {
			deadline = d
		}
	}
	return context.WithDeadline(context.WithoutCancel(ctx), deadline)
}
