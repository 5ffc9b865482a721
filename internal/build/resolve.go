package build

import (
	"context"
	"fmt"
	"strings"
	"time"

	"pipelined/internal/cli"
	"pipelined/internal/git"
)

// resolution is the outcome of resolving a ref and commit, for build.log.
type resolution struct {
	ref, commit string
	argv        []string // the ls-remote that was run, or nil
	note        string
}

// resolve turns the requested ref (full, or a branch or tag name) and commit (maybe "")
// into a full ref and a commit, asking the remote only when it must. Bad input is a usage
// error; a ref the remote does not have is a plain failure.
func resolve(ctx context.Context, remote, ref, commit string, env []string, timeout time.Duration) (resolution, error) {
	r := resolution{ref: ref, commit: commit}
	if commit != "" && !git.ValidCommit(commit) {
		return r, cli.Usagef("commit %q is not 40 or 64 lower-case hex digits", commit)
	}
	if err := git.CheckRefOrName(ref); err != nil {
		return r, &cli.UsageError{Err: err}
	}
	if strings.HasPrefix(ref, "refs/") && commit != "" {
		return r, nil
	}
	r.argv = git.LsRemoteArgs(remote)
	full, at, err := git.Resolve(ctx, remote, ref, env, timeout)
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
