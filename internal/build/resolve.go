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
// into a full ref and a commit. Bad input is a usage error; a ref the remote does not have
// is a plain failure.
func resolve(ctx context.Context, remote, ref, commit string, env []string, timeout time.Duration) (resolution, error) {
	r := resolution{ref: ref, commit: commit}
	if commit != "" && !git.ValidCommit(commit) {
		return r, cli.Usagef("commit %q is not 40 or 64 lower-case hex digits", commit)
	}
	short := !strings.HasPrefix(ref, "refs/")
	if short {
		if err := git.CheckRef(git.HeadsPrefix + ref); err != nil {
			return r, cli.Usagef("%q is not a branch or tag name: %v", ref, err)
		}
	} else if err := git.CheckRef(ref); err != nil {
		return r, &cli.UsageError{Err: err}
	}
	if !short && commit != "" {
		return r, nil
	}
	r.argv = git.LsRemoteArgs(remote)
	refs, _, err := git.LsRemote(ctx, remote, env, timeout)
	if err != nil {
		return r, err
	}
	at := map[string]string{}
	for _, x := range refs {
		at[x.Name] = x.Commit
	}
	if short {
		_, isBranch := at[git.HeadsPrefix+ref]
		_, isTag := at[git.TagsPrefix+ref]
		switch {
		case isBranch && isTag:
			return r, cli.Usagef("%q is both a branch and a tag on %s; give refs/heads/%s or refs/tags/%s", ref, remote, ref, ref)
		case isBranch:
			r.ref = git.HeadsPrefix + ref
		case isTag:
			r.ref = git.TagsPrefix + ref
		default:
			return r, fmt.Errorf("%s has no branch or tag %q", remote, ref)
		}
	}
	if r.commit == "" {
		c, ok := at[r.ref]
		if !ok {
			return r, fmt.Errorf("%s has no %s", remote, r.ref)
		}
		r.commit = c
	}
	r.note = fmt.Sprintf("%s is at %s", r.ref, at[r.ref])
	return r, nil
}
