package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"pipelined/internal/docker"
	"pipelined/internal/env"
	"pipelined/internal/git"
	"pipelined/internal/procexec"
	"pipelined/internal/workdir"
)

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
