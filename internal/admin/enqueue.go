package admin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/env"
	"pipelined/internal/exitcode"
	"pipelined/internal/git"
	"pipelined/internal/spool"
	"pipelined/internal/watch"
)

// EnqueueOptions describe a job to queue.
type EnqueueOptions struct {
	Config, Workdir string
	Project         string
	Ref             string // full ref, or a branch or tag name (looked up on the remote)
	Commit          string // "" builds whatever the ref points to when the build starts
	Source          string // who asks: manual, webhook, …
	// OnlyMatching queues the job only if the project's branches or tags regex matches
	// the ref, as for the watcher: a webhook reports every push, the project wants some.
	OnlyMatching bool
}

// ErrNotMatching is returned by Enqueue with OnlyMatching for a ref the project does not
// build.
var ErrNotMatching = errors.New("the project does not build this ref")

// Enqueue writes a job into the spool, as `pipelined enqueue` does; a running daemon
// starts it at once, a stopped one at its next start. It returns the job and its file
// name.
func Enqueue(ctx context.Context, o EnqueueOptions) (spool.Job, string, error) {
	_, sp, err := openSpool(o.Workdir)
	if err != nil {
		return spool.Job{}, "", err
	}
	configPath, project, ref, commit := o.Config, o.Project, o.Ref, o.Commit
	cfg, err := config.Load(configPath)
	if err != nil {
		return spool.Job{}, "", err
	}
	p := cfg.Project(project)
	switch {
	case p == nil:
		return spool.Job{}, "", exitcode.Usagef("project %q is not in %s", project, configPath)
	case !p.Enabled:
		return spool.Job{}, "", exitcode.Usagef("project %q is disabled (enabled = False in %s, line %d)", project, configPath, p.Line)
	case commit != "" && !git.ValidCommit(commit):
		return spool.Job{}, "", exitcode.Usagef("commit %q is not 40 or 64 lower-case hex digits", commit)
	}
	if err := git.CheckRefOrName(ref); err != nil {
		return spool.Job{}, "", &exitcode.UsageError{Err: err}
	}
	if git.IsPullRequest(ref) && commit == "" {
		// ls-remote --heads --tags does not list it, and its head moves: the webhook and the
		// watcher always know the commit.
		return spool.Job{}, "", exitcode.Usagef("%s is a pull request's head: give the commit to build too", ref)
	}
	if !strings.HasPrefix(ref, "refs/") {
		e, err := env.ForProject(git.SafeEnv(os.Environ()), p.EnvFile, p.Env)
		if err != nil {
			return spool.Job{}, "", err
		}
		timeout := p.Timeout
		if timeout == 0 {
			timeout = time.Minute
		}
		if ref, _, err = git.Resolve(ctx, p.Remote, ref, e.List(), timeout); err != nil {
			return spool.Job{}, "", err
		}
	}
	if o.OnlyMatching && !watch.Wanted(p, ref) {
		return spool.Job{}, "", fmt.Errorf("%s: %w", ref, ErrNotMatching)
	}
	source := o.Source
	if source == "" {
		source = spool.SourceManual
	}
	job := spool.Job{Project: project, Ref: ref, Commit: commit, Source: source}
	name, err := sp.Write(job)
	return job, name, err
}
