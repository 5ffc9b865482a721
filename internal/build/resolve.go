package build

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"pipelined/internal/exitcode"
	"pipelined/internal/git"
	"pipelined/internal/refname"
)

// Default bounds of the git commands that talk to the remote, for a project that sets no
// timeout of its own: a remote that hangs must not hold a build slot for ever. A project's
// timeout replaces them (it bounds every command).
const (
	DefaultResolveTimeout = time.Minute
	DefaultCloneTimeout   = 30 * time.Minute
)

// resolution is the outcome of resolving a ref and commit, for build.log.
type resolution struct {
	ref, commit string
	argv        []string // the ls-remote that was run, or nil
	note        string
}

// noSuchRef is a ref the remote answered it does not have: the build fails (asking again
// would not help), unlike a remote that could not be asked, which is retried.
type noSuchRef struct{ err error }

func (e *noSuchRef) Error() string { return e.err.Error() }
func (e *noSuchRef) Unwrap() error { return e.err }

// resolve turns the requested ref (full, or a branch or tag name) and commit (maybe "")
// into a full ref and a commit, asking the remote only when it must. Bad input is a usage
// error.
func resolve(ctx context.Context, remote, ref, commit string, env []string, timeout time.Duration) (resolution, error) {
	r := resolution{ref: ref, commit: commit}
	if commit != "" && !refname.ValidCommit(commit) {
		return r, exitcode.Usagef("commit %q is not 40 or 64 lower-case hex digits", commit)
	}
	if err := refname.CheckRefOrName(ref); err != nil {
		return r, &exitcode.UsageError{Err: err}
	}
	if strings.HasPrefix(ref, "refs/") && commit != "" {
		return r, nil
	}
	if refname.IsPullRequest(ref) {
		// ls-remote --heads --tags does not list it: the watcher and the webhook give the commit.
		return r, exitcode.Usagef("%s is a pull request's head: give the commit to build too", ref)
	}
	if timeout == 0 {
		timeout = DefaultResolveTimeout
	}
	r.argv = git.LsRemoteArgs(remote)
	full, at, err := git.Resolve(ctx, remote, ref, env, timeout)
	if errors.Is(err, git.ErrNoSuchRef) {
		return r, &noSuchRef{err}
	}
	if err != nil {
		return r, err
	}
	r.ref = full
	if r.commit == "" {
		r.commit = at
	}
	r.note = fmt.Sprintf("%s is at %s", full, at)
	return r, nil
}
