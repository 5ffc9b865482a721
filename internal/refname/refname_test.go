package refname

import (
	"os/exec"
	"strings"
	"testing"

	"pipelined/internal/testenv"
)

// TestCheckRefAgreesWithGit compares the git rules of CheckRef with git check-ref-format
// itself, for names git accepts and names it refuses.
func TestCheckRefAgreesWithGit(t *testing.T) {
	testenv.Require(t, "git")
	names := []string{"main", "feature/x", "a.b", "v1.0+build", "100%", "ünï", "a@b", "@", "a..b", "a.lock",
		"a/.b", ".a", "a/", "a//b", "a.", "a@{1}", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[b", `a\b`,
		"a\x01b", "a\x7fb", "-x", "x/-y", "$(id)", "a;b", "{a}", "a#b", "x.lock/y", "deep/er/still/deeper"}
	for _, name := range names {
		for _, prefix := range []string{HeadsPrefix, TagsPrefix} {
			ref := prefix + name
			gitOK := exec.Command("git", "check-ref-format", ref).Run() == nil
			ours := ValidRefFormat(ref)
			if gitOK != ours {
				t.Errorf("%q: git says valid=%v, ValidRefFormat says valid=%v", ref, gitOK, ours)
			}
			// CheckRef also refuses option-like components, which git allows.
			wantCheck := gitOK && !strings.HasPrefix(name, "-") && !strings.Contains(name, "/-")
			if got := CheckRef(ref) == nil; got != wantCheck {
				t.Errorf("CheckRef(%q) valid = %v, want %v", ref, got, wantCheck)
			}
		}
	}
	for _, ref := range []string{"refs/notes/x", "main", "refs/heads/" + strings.Repeat("é", 100)} {
		if CheckRef(ref) == nil {
			t.Errorf("CheckRef(%q) accepted it", ref)
		}
	}
}

func TestPullRequestRefs(t *testing.T) {
	cases := []struct {
		ref   string
		n     int
		valid bool // CheckRef accepts it
	}{
		{"refs/pull/12/head", 12, true},
		{"refs/merge-requests/7/head", 7, true},
		{"refs/pull/12/merge", 0, false},
		{"refs/pull/012/head", 0, false},
		{"refs/pull/-1/head", 0, false},
		{"refs/pull//head", 0, false},
		{"refs/pull/1x/head", 0, false},
		{"refs/pull/1234567890/head", 0, false},
		{"refs/merge-requests/3/head/x", 0, false},
	}
	for _, tc := range cases {
		n, ok := PullRequest(tc.ref)
		if n != tc.n || ok != (tc.n != 0) {
			t.Errorf("PullRequest(%q) = %d, %v", tc.ref, n, ok)
		}
		if err := CheckRef(tc.ref); (err == nil) != tc.valid {
			t.Errorf("CheckRef(%q) = %v", tc.ref, err)
		}
	}
	if got := ShortName("refs/pull/12/head"); got != "pull/12/head" {
		t.Errorf("ShortName = %q", got)
	}
	if !BuiltLikeBranch("refs/pull/1/head") || !BuiltLikeBranch("refs/heads/x") || BuiltLikeBranch("refs/tags/v1") {
		t.Error("BuiltLikeBranch: a request's head moves like a branch, a tag does not")
	}
}
