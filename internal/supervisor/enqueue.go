package supervisor

import (
	"context"
	"os"
	"time"

	"pipelined/internal/cli"
	"pipelined/internal/config"
	"pipelined/internal/env"
	"pipelined/internal/git"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// Enqueue writes a job for a project's ref (and commit, or "" for whatever the ref is at
// when the build starts) into the spool, as `pipelined enqueue` does; a running daemon
// starts it at once, a stopped one at its next start. A branch or tag name is resolved to
// its full ref with git ls-remote. It returns the job and its file name.
func Enqueue(ctx context.Context, configPath, workdirPath, project, ref, commit string) (spool.Job, string, error) {
	cfg, err := config.Load(configPath)
	if err != nil {
		return spool.Job{}, "", err
	}
	p := cfg.Project(project)
	switch {
	case p == nil:
		return spool.Job{}, "", cli.Usagef("project %q is not in %s", project, configPath)
	case !p.Enabled:
		return spool.Job{}, "", cli.Usagef("project %q is disabled (enabled = False in %s, line %d)", project, configPath, p.Line)
	case commit != "" && !git.ValidCommit(commit):
		return spool.Job{}, "", cli.Usagef("commit %q is not 40 or 64 lower-case hex digits", commit)
	}
	if err := git.CheckRefOrName(ref); err != nil {
		return spool.Job{}, "", &cli.UsageError{Err: err}
	}
	if !git.IsBranch(ref) && !git.IsTag(ref) {
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
	layout, err := workdir.New(workdirPath)
	if err != nil {
		return spool.Job{}, "", err
	}
	sp, err := spool.Open(layout.SpoolDir())
	if err != nil {
		return spool.Job{}, "", err
	}
	job := spool.Job{Project: project, Ref: ref, Commit: commit, Source: spool.SourceManual}
	name, err := sp.Write(job)
	return job, name, err
}
