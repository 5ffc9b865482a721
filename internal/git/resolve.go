package git

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"pipelined/internal/refname"
)

// ErrNoSuchRef is wrapped by Resolve's errors when the remote answered but has no such
// ref (or the name is both a branch and a tag): asking again would not help, unlike a
// remote that could not be asked.
var ErrNoSuchRef = errors.New("no such ref")

// Resolve asks remote for a ref and returns it in full with its commit. ref may be a full
// ref, or a branch or tag name ("main", "v1.2"), which must then name exactly one of the
// two. It runs LsRemoteArgs(remote); its errors quote git's own message and mask the
// remote's credentials, as LsRemote's do.
func Resolve(ctx context.Context, remote, ref string, env []string, timeout time.Duration) (full, commit string, err error) {
	refs, _, err := LsRemote(ctx, remote, env, timeout)
	if err != nil {
		return "", "", err
	}
	shown := MaskURL(remote)
	at := map[string]string{}
	for _, r := range refs {
		at[r.Name] = r.Commit
	}
	full = ref
	if !strings.HasPrefix(ref, "refs/") {
		_, isBranch := at[refname.HeadsPrefix+ref]
		_, isTag := at[refname.TagsPrefix+ref]
		switch {
		case isBranch && isTag:
			return "", "", fmt.Errorf("%w: %q is both a branch and a tag on %s; give refs/heads/%s or refs/tags/%s", ErrNoSuchRef, ref, shown, ref, ref)
		case isBranch:
			full = refname.HeadsPrefix + ref
		case isTag:
			full = refname.TagsPrefix + ref
		default:
			return "", "", fmt.Errorf("%w: %s has no branch or tag %q", ErrNoSuchRef, shown, ref)
		}
	}
	commit, ok := at[full]
	if !ok {
		return "", "", fmt.Errorf("%w: %s has no %s", ErrNoSuchRef, shown, full)
	}
	return full, commit, nil
}
