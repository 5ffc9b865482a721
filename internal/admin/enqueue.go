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
	"pipelined/internal/polling"
	"pipelined/internal/refname"
	"pipelined/internal/spool"
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
	// Rebuild asks for a build even if the commit is built or queued already: without it,
	// a repeated enqueue (a redelivered webhook) costs nothing.
	Rebuild bool
}

// resolveRef asks the project's remote for ref (a full ref, or a branch or tag name) and
// returns it in full with its commit.
func resolveRef(ctx context.Context, p *config.Project, ref string) (string, string, error) {
	e, err := env.ForProject(git.SafeEnv(os.Environ()), p.EnvFile, p.Env)
	if err != nil {
		return "", "", err
	}
	timeout := p.Timeout
	if timeout == 0 || timeout > time.Minute {
		timeout = time.Minute
	}
	return git.Resolve(ctx, p.Remote, ref, e.List(), timeout)
}

// ErrNotMatching is returned by Enqueue with OnlyMatching for a ref the project does not
// build.
var ErrNotMatching = errors.New("the project does not build this ref")

// Queued is a job Enqueue wrote.
type Queued struct {
	Job  spool.Job
	Name string // its file name
	// Unresolved is why the ref's commit could not be found (the remote could not be
	// asked): the job has none, and its build takes what the ref points to when it starts.
	Unresolved error
}

// Enqueue writes a job into the spool, as `pipelined enqueue` does; a running daemon
// starts it at once, a stopped one at its next start.
func Enqueue(ctx context.Context, o EnqueueOptions) (Queued, error) {
	var q Queued
	_, jobs, err := openSpool(o.Workdir)
	if err != nil {
		return q, err
	}
	configPath, project, ref, commit := o.Config, o.Project, o.Ref, o.Commit
	cfg, err := config.Load(configPath)
	if err != nil {
		return q, err
	}
	p := cfg.Project(project)
	switch {
	case p == nil:
		return q, exitcode.Usagef("project %q is not in %s", project, configPath)
	case !p.Enabled:
		return q, exitcode.Usagef("project %q is disabled (enabled = False in %s, line %d)", project, configPath, p.Line)
	case commit != "" && !refname.ValidCommit(commit):
		return q, exitcode.Usagef("commit %q is not 40 or 64 lower-case hex digits", commit)
	}
	if err := refname.CheckRefOrName(ref); err != nil {
		return q, &exitcode.UsageError{Err: err}
	}
	if refname.IsPullRequest(ref) && commit == "" {
		// ls-remote --heads --tags does not list it, and its head moves: the webhook and the
		// watcher always know the commit.
		return q, exitcode.Usagef("%s is a pull request's head: give the commit to build too", ref)
	}
	if commit == "" || !strings.HasPrefix(ref, "refs/") {
		// The commit the ref points to now is what is queued: a job for a commit that is
		// built already costs nothing, and the log names it from the start. A short name
		// must be found; a full ref whose remote cannot be asked is queued without a
		// commit, which its build resolves when it starts.
		resolved, at, err := resolveRef(ctx, p, ref)
		switch {
		case err == nil && commit == "":
			ref, commit = resolved, at
		case err == nil:
			ref = resolved // the commit given is the one built
		case errors.Is(err, git.ErrNoSuchRef), !strings.HasPrefix(ref, "refs/"):
			return q, err
		default:
			q.Unresolved = err
		}
	}
	if o.OnlyMatching && !polling.Wanted(p, ref) {
		return q, fmt.Errorf("%s: %w", ref, ErrNotMatching)
	}
	source := o.Source
	if source == "" {
		source = spool.SourceManual
	}
	q.Job = spool.Job{Project: project, Ref: ref, Commit: commit, Source: source, Rebuild: o.Rebuild}
	q.Name, err = jobs.Spool().Write(q.Job)
	return q, err
}
