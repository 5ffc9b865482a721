package build

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/env"
	"pipelined/internal/rsync"
	"pipelined/internal/workdir"
)

// callback returns a step that runs an operator's command in the checkout.
func (b *builder) callback(step string, argv []string) func(context.Context) error {
	return func(ctx context.Context) error {
		return b.command(ctx, step, argv, b.checkoutPath(), b.env, nil)
	}
}

func (b *builder) rsync(ctx context.Context) error {
	p := b.project
	dest, err := b.env.Interpolate("rsync.destination", p.Rsync.Destination)
	if err != nil {
		return err
	}
	src, include := rsyncSource(p, b.checkoutPath(), workdir.DropPath(b.dir))
	mkpath, err := b.prepareDestination(ctx, dest)
	if err != nil {
		return err
	}
	o := rsync.Options{Source: src, Destination: dest, Checksum: p.Rsync.Checksum,
		Preserve: p.Rsync.Preserve, Delete: p.Rsync.Delete, IncludeFrom: include, MkPath: mkpath}
	err = b.command(ctx, StepRsync, rsync.Args(o), b.dir, b.env, nil)
	if err != nil && mkpath && ctx.Err() == nil && rsync.RefusedMkPath(b.failedOutput()) {
		// This rsync has --mkpath, the remote one not: deploy as before it, to the
		// directories that exist.
		b.log.Note("the remote rsync has no --mkpath (3.2.3 or later): rsync again without it")
		o.MkPath, mkpath, b.failOut = false, false, nil
		err = b.command(ctx, StepRsync, rsync.Args(o), b.dir, b.env, nil)
	}
	return b.explainRsync(err, dest, mkpath)
}

// rsyncSource is what the rsync step copies: the run step's artifacts in drop when the
// project runs a container, else the checkout; and its include file, relative to the
// checkout.
func rsyncSource(p *config.Project, checkout, drop string) (src, include string) {
	include = p.Rsync.Include
	if include != "" && !filepath.IsAbs(include) {
		include = filepath.Join(checkout, include)
	}
	if p.Run {
		return drop, include
	}
	return checkout, include
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
