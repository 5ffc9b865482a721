package build

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pipelined/internal/exitcode"
	"pipelined/internal/testenv"
)

// TestResolveRefusesBadInputWithoutAsking: a malformed commit or ref, or a pull request's
// head without its commit, is a usage error before the remote is asked (the remote here
// does not exist).
func TestResolveRefusesBadInputWithoutAsking(t *testing.T) {
	nowhere := filepath.Join(t.TempDir(), "none.git")
	commit := strings.Repeat("a", 40)
	for _, tc := range []struct {
		name, ref, commit string
	}{
		{"a short commit", "refs/heads/main", "abc123"},
		{"an upper-case commit", "refs/heads/main", strings.Repeat("A", 40)},
		{"a bad ref", "refs/heads/a..b", commit},
		{"a pull request without its commit", "refs/pull/12/head", ""},
	} {
		r, err := resolve(context.Background(), nowhere, tc.ref, tc.commit, nil, time.Minute)
		var usage *exitcode.UsageError
		if !errors.As(err, &usage) || r.argv != nil {
			t.Errorf("%s: resolve = %+v, %v; want a usage error, with no ls-remote", tc.name, r, err)
		}
	}
	r, err := resolve(context.Background(), nowhere, "refs/pull/12/head", commit, nil, time.Minute)
	if err != nil || r.ref != "refs/pull/12/head" || r.commit != commit || r.argv != nil {
		t.Errorf("a full ref and its commit: resolve = %+v, %v; want them as given, unasked", r, err)
	}
}

// TestResolveAsksTheRemote: a branch or tag name becomes its full ref, and with no commit
// given, the ref's commit; build.log gets the ls-remote and what it said. A ref the remote
// does not have is noSuchRef (the build fails), a remote that cannot be asked is any other
// error (the job is retried).
func TestResolveAsksTheRemote(t *testing.T) {
	repo := testenv.NewRepo(t, nil)
	head := repo.Head()
	repo.Tag("v1.0")
	gitEnv := testenv.IsolatedGitEnv(t, "")
	ctx := context.Background()

	r, err := resolve(ctx, repo.Remote, "main", "", gitEnv, 0)
	if err != nil || r.ref != "refs/heads/main" || r.commit != head || r.argv == nil || r.note != "refs/heads/main is at "+head {
		t.Errorf("a branch name: resolve = %+v, %v", r, err)
	}
	older := strings.Repeat("b", 40)
	r, err = resolve(ctx, repo.Remote, "main", older, gitEnv, 0)
	if err != nil || r.ref != "refs/heads/main" || r.commit != older {
		t.Errorf("a branch name and a commit: resolve = %+v, %v; want the commit given", r, err)
	}
	r, err = resolve(ctx, repo.Remote, "refs/heads/main", "", gitEnv, 0)
	if err != nil || r.commit != head {
		t.Errorf("a full ref without a commit: resolve = %+v, %v", r, err)
	}
	if r, err = resolve(ctx, repo.Remote, "v1.0", "", gitEnv, 0); err != nil || r.ref != "refs/tags/v1.0" {
		t.Errorf("a tag name: resolve = %+v, %v", r, err)
	}

	var noRef *noSuchRef
	if _, err := resolve(ctx, repo.Remote, "nope", "", gitEnv, 0); !errors.As(err, &noRef) {
		t.Errorf("a ref the remote lacks: %v, want noSuchRef", err)
	}
	_, err = resolve(ctx, filepath.Join(t.TempDir(), "none.git"), "main", "", gitEnv, 0)
	if err == nil || errors.As(err, &noRef) || errors.As(err, new(*exitcode.UsageError)) {
		t.Errorf("a remote that cannot be asked: %v, want an error of its own", err)
	}
}
