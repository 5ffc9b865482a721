// Package refname holds what pipelined accepts as a ref and a commit id, and the kinds of
// ref it builds (branches, tags, pull requests' heads), checked without running git: the
// spool, the watcher, the builder and the commands beside the daemon all ask it.
package refname

import (
	"fmt"
	"strings"

	"pipelined/internal/workdir"
)

// Branch and tag namespaces, and the head refs of pull (merge) requests: the only refs
// pipelined builds.
const (
	HeadsPrefix        = "refs/heads/"
	TagsPrefix         = "refs/tags/"
	PullPrefix         = "refs/pull/"           // GitHub, Gitea: refs/pull/N/head
	MergeRequestPrefix = "refs/merge-requests/" // GitLab: refs/merge-requests/N/head
)

// maxEncodedLength bounds a ref by the length of its directory name: workdir.EncodeRef
// writes every byte outside [A-Za-z0-9._-] as three, and a directory name has 255 bytes.
const maxEncodedLength = 240

// CheckRef refuses a ref that pipelined will not build, with the reason. A ref must be a
// branch or tag (refs/heads/… or refs/tags/…) or a pull request's head (refs/pull/N/head,
// refs/merge-requests/N/head), obey every rule of git-check-ref-format(1),
// and have no component starting with "-", so that it can never be taken for an option
// (SPEC §9). Refs from remotes, job files and the command line all pass through here.
func CheckRef(ref string) error {
	if !IsBranch(ref) && !IsTag(ref) && !IsPullRequest(ref) {
		return fmt.Errorf("ref %q is neither a branch (refs/heads/…), a tag (refs/tags/…) nor a pull request's head (refs/pull/N/head, refs/merge-requests/N/head)", ref)
	}
	if workdir.EncodedLength(ref) > maxEncodedLength {
		return fmt.Errorf("ref %q is too long to name a directory", clip(ref))
	}
	if reason := checkRefFormat(ref); reason != "" {
		return fmt.Errorf("ref %q is not a valid git ref name: %s", ref, reason)
	}
	for rest, more := ref, true; more; {
		var c string
		c, rest, more = strings.Cut(rest, "/")
		if strings.HasPrefix(c, "-") {
			return fmt.Errorf("ref %q has a component starting with '-', which could be taken for an option", ref)
		}
	}
	return nil
}

// CheckRefOrName checks a full ref, or a branch or tag name, as CheckRef does.
func CheckRefOrName(ref string) error {
	if strings.HasPrefix(ref, "refs/") {
		return CheckRef(ref)
	}
	if err := CheckRef(HeadsPrefix + ref); err != nil {
		return fmt.Errorf("%q is not a branch or tag name: %w", ref, err)
	}
	return nil
}

// ValidRefFormat reports whether a full ref name obeys git-check-ref-format(1): git
// ls-remote --refs silently leaves out the refs that do not.
func ValidRefFormat(ref string) bool { return checkRefFormat(ref) == "" }

// checkRefFormat applies the rules of git-check-ref-format(1) to a full ref name and
// returns the first one broken, or "".
func checkRefFormat(ref string) string {
	switch {
	case ref == "@":
		return "it is the single character @"
	case strings.HasPrefix(ref, "/") || strings.HasSuffix(ref, "/"):
		return "it begins or ends with /"
	case strings.Contains(ref, "//"):
		return "it contains //"
	case strings.HasSuffix(ref, "."):
		return "it ends with ."
	case strings.Contains(ref, ".."):
		return "it contains .."
	case strings.Contains(ref, "@{"):
		return "it contains @{"
	case !strings.Contains(ref, "/"):
		return "it has a single component"
	}
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		if c < 0x20 || c == 0x7f {
			return "it contains a control character"
		}
		if strings.IndexByte(" ~^:?*[\\", c) >= 0 {
			return fmt.Sprintf("it contains %q", c)
		}
	}
	// Components without strings.Split: every ref of every listing comes through here.
	for rest, more := ref, true; more; {
		var c string
		c, rest, more = strings.Cut(rest, "/")
		if strings.HasPrefix(c, ".") {
			return "a component begins with ."
		}
		if strings.HasSuffix(c, ".lock") {
			return "a component ends with .lock"
		}
	}
	return ""
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// ValidCommit reports whether s is a full commit id: 40 (SHA-1) or 64 (SHA-256) lower-case
// hex digits. A loop, not a regexp: it runs for every ref of every listing, and a regexp
// made it most of ParseLsRemote's time.
func ValidCommit(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ShortName is the branch or tag name of a full ref ("main" for refs/heads/main), and a pull
// request's ref without "refs/" ("pull/12/head").
func ShortName(ref string) string {
	if s, ok := strings.CutPrefix(ref, HeadsPrefix); ok {
		return s
	}
	if IsPullRequest(ref) {
		return strings.TrimPrefix(ref, "refs/")
	}
	return strings.TrimPrefix(ref, TagsPrefix)
}

// PullRequest returns the number of a pull or merge request's head ref
// (refs/pull/N/head, refs/merge-requests/N/head), and whether ref is one.
func PullRequest(ref string) (int, bool) {
	rest, ok := strings.CutPrefix(ref, PullPrefix)
	if !ok {
		rest, ok = strings.CutPrefix(ref, MergeRequestPrefix)
	}
	digits, ok2 := strings.CutSuffix(rest, "/head")
	if !ok || !ok2 || digits == "" || len(digits) > 9 || digits[0] == '0' {
		return 0, false
	}
	n := 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// IsPullRequest reports whether ref is a pull or merge request's head ref.
func IsPullRequest(ref string) bool { _, ok := PullRequest(ref); return ok }

// BuiltLikeBranch reports whether ref moves on to newer commits as a branch does: a branch or
// a pull request's head. Supersede, cancel and retention treat them alike; a tag stays.
func BuiltLikeBranch(ref string) bool { return IsBranch(ref) || IsPullRequest(ref) }

// IsBranch reports whether ref is below refs/heads/.
func IsBranch(ref string) bool { return strings.HasPrefix(ref, HeadsPrefix) }

// IsTag reports whether ref is below refs/tags/.
func IsTag(ref string) bool { return strings.HasPrefix(ref, TagsPrefix) }
