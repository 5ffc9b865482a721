// Package git builds the git command lines of SPEC §6 and §7.1, parses ls-remote output,
// checks ref names by git's rules (and ours, SPEC §9), and sets the environment that keeps
// git from ever waiting for a password.
package git

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"pipelined/internal/refname"
)

// LsRemoteArgs is the watch command of SPEC §6.
func LsRemoteArgs(remote string) []string {
	return []string{"git", "--no-pager", "ls-remote", "--heads", "--tags", "--refs", "--quiet", "--", remote}
}

// CloneArgs is the clone of SPEC §7.1 into RUN_PATH/build; shallow clones fetch only the
// branch or tag name (the ref without its refs/heads/ or refs/tags/ prefix). A pull
// request's head is no branch (branchOrTag ""): a shallow clone takes the default branch,
// and FetchRefArgs then fetches the request's head.
func CloneArgs(runPath, remote string, shallow bool, branchOrTag string) []string {
	args := []string{"git", "--no-pager", "-C", runPath, "clone", "--no-local", "--no-hardlinks",
		"--recurse-submodules", "--verbose"}
	if shallow {
		args = append(args, "--depth", "1", "--shallow-submodules", "--no-tags")
		if branchOrTag != "" {
			args = append(args, "--single-branch", "--branch", branchOrTag)
		}
	}
	return append(args, "--", remote, "build")
}

// CheckoutArgs checks out the commit, detached (SPEC §7.1).
func CheckoutArgs(buildPath, commit string) []string {
	return []string{"git", "--no-pager", "-C", buildPath, "-c", "advice.detachedHead=false", "checkout",
		"--recurse-submodules", "--force", "--no-guess", "--detach", commit}
}

// DescribeHeadArgs prints the commit checked out and its subject line, one per line.
func DescribeHeadArgs(buildPath string) []string {
	return []string{"git", "--no-pager", "-C", buildPath, "show", "--no-patch", "--format=%H%n%s", "HEAD"}
}

// HasCommitArgs succeeds if the clone contains the commit; it tells a commit that is missing
// (the build is skipped) from one that fails to check out (the build fails).
func HasCommitArgs(buildPath, commit string) []string {
	return []string{"git", "--no-pager", "-C", buildPath, "cat-file", "-e", commit + "^{commit}"}
}

// FetchCommitArgs fetches a commit that a shallow clone no longer contains because its ref
// moved on; servers that allow fetching by id answer it (SPEC §7.1).
func FetchCommitArgs(buildPath, commit string) []string {
	return []string{"git", "--no-pager", "-C", buildPath, "fetch", "--depth", "1", "origin", commit}
}

// FetchRefArgs fetches a ref that a clone does not take, a pull request's head, by its full
// name (CheckRef made sure it cannot be taken for an option).
func FetchRefArgs(buildPath, ref string, shallow bool) []string {
	args := []string{"git", "--no-pager", "-C", buildPath, "fetch", "--no-tags"}
	if shallow {
		args = append(args, "--depth", "1")
	}
	return append(args, "origin", ref)
}

// Ref is one line of ls-remote output.
type Ref struct {
	Name   string // full ref, refs/heads/… or refs/tags/…
	Commit string // 40 or 64 lower-case hex digits
}

// ParseLsRemote reads "COMMIT<TAB>REF" lines. Lines that are not of that shape, and refs
// git or pipelined would refuse, are returned as problems rather than refs.
func ParseLsRemote(out []byte) (refs []Ref, problems []string) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		commit, name, ok := strings.Cut(line, "\t")
		if !ok || !refname.ValidCommit(commit) {
			problems = append(problems, fmt.Sprintf("unexpected ls-remote line %q", line))
			continue
		}
		if err := refname.CheckRef(name); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if refname.IsPullRequest(name) {
			// Not asked for (--heads --tags): a forge keeps the refs of closed requests too, so
			// which requests to build comes from its list of open ones, never from here.
			problems = append(problems, fmt.Sprintf("ref %q is a pull request's, which ls-remote was not asked for", name))
			continue
		}
		refs = append(refs, Ref{Name: name, Commit: commit})
	}
	return refs, problems
}
