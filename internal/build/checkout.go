package build

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"pipelined/internal/env"
	"pipelined/internal/git"
	"pipelined/internal/procexec"
	"pipelined/internal/refname"
	"pipelined/internal/workdir"
)

// networkTimeout bounds a git command that talks to the remote: the project's timeout, or
// the default bound of a clone.
func (b *builder) networkTimeout() time.Duration {
	if b.project.Timeout > 0 {
		return b.project.Timeout
	}
	return DefaultCloneTimeout
}

func (b *builder) checkoutPath() string { return workdir.CheckoutPath(b.dir) }

func (b *builder) clone(ctx context.Context) error {
	branch := refname.ShortName(b.ref)
	if refname.IsPullRequest(b.ref) {
		branch = "" // no branch: the request's head is fetched by its ref next
	}
	argv := git.CloneArgs(b.dir, b.project.Remote, b.project.Shallow, branch)
	if err := b.commandWithin(ctx, StepClone, argv, b.dir, b.env, nil, b.networkTimeout()); err != nil || branch != "" {
		return err
	}
	dir := b.checkoutPath()
	return b.commandWithin(ctx, StepClone, git.FetchRefArgs(dir, b.ref, b.project.Shallow), dir, b.env, nil, b.networkTimeout())
}

// checkout checks out the commit. A shallow clone may not contain it if the ref moved on
// since the job was written; then it is fetched by id, which servers may allow. A commit
// that still is not there skips the build: the newer commit has a job of its own. A commit
// that is there but cannot be checked out fails the build.
func (b *builder) checkout(ctx context.Context) error {
	if err := b.checkoutCommit(ctx); err != nil {
		return err
	}
	return b.describeHead(ctx)
}

// checkoutCommit is checkout without describing the result.
func (b *builder) checkoutCommit(ctx context.Context) error {
	dir := b.checkoutPath()
	err := b.command(ctx, StepCheckout, git.CheckoutArgs(dir, b.commit), dir, b.env, nil)
	var exit *procexec.ExitError
	if err == nil || !errors.As(err, &exit) {
		return err
	}
	if b.has(ctx) {
		return err
	}
	if b.project.Shallow {
		b.log.Note("%s is not in the shallow clone of %s; fetching it by id", b.short, refname.ShortName(b.ref))
		if ferr := b.commandWithin(ctx, StepCheckout, git.FetchCommitArgs(dir, b.commit), dir, b.env, nil, b.networkTimeout()); ferr == nil {
			return b.command(ctx, StepCheckout, git.CheckoutArgs(dir, b.commit), dir, b.env, nil)
		} else if !errors.As(ferr, &exit) {
			return ferr
		}
	}
	return fmt.Errorf("%w: commit %s is not in the clone of %s (the ref has moved on, or the commit is not on the remote)", errSkip, b.short, git.MaskURL(b.project.Remote))
}

// describeHead records the commit that was checked out and its subject line (for the status
// pages). An annotated tag names a tag object, not a commit: then BUILD_COMMIT and
// BUILD_SHORT_COMMIT become the tagged commit, and BUILD_TAG_OBJECT the tag object, which
// still names the build directory.
func (b *builder) describeHead(ctx context.Context) error {
	dir := b.checkoutPath()
	var out strings.Builder
	if err := b.commandCapture(ctx, StepCheckout, git.DescribeHeadArgs(dir), dir, &out); err != nil {
		return err
	}
	head, subject, _ := strings.Cut(strings.TrimRight(out.String(), "\n"), "\n")
	if !refname.ValidCommit(head) {
		return fmt.Errorf("git show printed %q, not a commit id", clipLine(head))
	}
	b.status.Subject = cutSubject(subject)
	if head != b.commit {
		b.status.TagObject = b.commit
		b.status.Commit, b.status.ShortCommit = head, workdir.ShortCommit(head)
		b.env.Set(env.BuildCommit, head)
		b.env.Set(env.BuildShortCommit, workdir.ShortCommit(head))
		b.env.Set(env.BuildTagObject, b.commit)
		b.log.Note("%s is the tag object of commit %s", workdir.ShortCommit(b.commit), head)
	}
	return b.save()
}

// has reports whether the clone contains the commit.
func (b *builder) has(ctx context.Context) bool {
	dir := b.checkoutPath()
	return b.command(ctx, StepCheckout, git.HasCommitArgs(dir, b.commit), dir, b.env, nil) == nil
}

// maxSubject bounds the subject kept in build.json: git allows a subject of any length, and
// one of megabytes (a pull request from anyone can carry it) would make build.json too
// large for its readers, and every page and notification carry it.
const maxSubject = 1000

// cutSubject cuts a subject to maxSubject bytes, at a character, ending in "…" when cut.
func cutSubject(s string) string {
	if len(s) <= maxSubject {
		return s
	}
	n := maxSubject
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
