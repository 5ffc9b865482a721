package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/env"
	"pipelined/internal/git"
	"pipelined/internal/procexec"
)

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
