package git

import (
	"fmt"
	"strings"

	"pipelined/internal/workdir"
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
