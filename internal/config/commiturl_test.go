package config

import (
	"strings"
	"testing"
)

func TestCommitURLIsCheckedWhenTheFileLoads(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"fine", "https://git.example.com/${BUILD_PROJECT}/commit/$BUILD_COMMIT", ""},
		{"not http", "javascript:alert(1)//${BUILD_COMMIT}", "must start with http:// or https://"},
		{"a secret", "https://x/${TOKEN}", "unknown variable $TOKEN; commit_url may use $BUILD_PROJECT"},
		{"the remote", "https://x/${BUILD_REMOTE}", "unknown variable $BUILD_REMOTE"},
		{"bad placeholder", "https://x/$", "invalid placeholder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader("[p]\nremote = /r\ncommit_url = "+tc.value+"\n"), "t.ini")
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Parse: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Parse = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCommitLinkEscapesTheValues(t *testing.T) {
	p := &Project{CommitURL: "https://git.example.com/tree/${BUILD_REF_NAME}?c=$BUILD_SHORT_COMMIT"}
	got := p.CommitLink(map[string]string{"BUILD_REF_NAME": `feature/a b"<x>#`, "BUILD_SHORT_COMMIT": "0123abcd"})
	if want := "https://git.example.com/tree/feature/a%20b%22%3Cx%3E%23?c=0123abcd"; got != want {
		t.Errorf("CommitLink = %q, want %q", got, want)
	}
	if got := (&Project{}).CommitLink(nil); got != "" {
		t.Errorf("CommitLink without commit_url = %q", got)
	}
	if got := p.CommitLink(map[string]string{}); got != "" {
		t.Errorf("CommitLink without the variables = %q", got)
	}
}

func TestReservedNamesAreNoProjects(t *testing.T) {
	for _, name := range []string{"index.html", "badges", "Badges"} {
		_, err := Parse(strings.NewReader("["+name+"]\nremote = /r\n"), "t.ini")
		if err == nil || !strings.Contains(err.Error(), "cannot be a project's directory") {
			t.Errorf("project %s: Parse = %v", name, err)
		}
	}
}

// Without commit_url, a project that reports to a forge links the commit's page there.
func TestCommitLinkFromTheForge(t *testing.T) {
	const c = "0123456789abcdef0123456789abcdef01234567"
	vars := map[string]string{"BUILD_COMMIT": c}
	for _, tc := range []struct {
		name string
		p    Project
		want string
	}{
		{"github", Project{Forge: Forge{Kind: ForgeGitHub, URL: GitHubAPI, Repo: "octo/app"}}, "https://github.com/octo/app/commit/" + c},
		{"github enterprise", Project{Forge: Forge{Kind: ForgeGitHub, URL: "https://ghe.example.com/api/v3", Repo: "octo/app"}},
			"https://ghe.example.com/octo/app/commit/" + c},
		{"github, an API base of no known shape", Project{Forge: Forge{Kind: ForgeGitHub, URL: "https://proxy.example.com", Repo: "octo/app"}}, ""},
		{"gitea", Project{Forge: Forge{Kind: ForgeGitea, URL: "https://git.example.com/forgejo", Repo: "team/a b"}},
			"https://git.example.com/forgejo/team/a%20b/commit/" + c},
		{"gitlab", Project{Forge: Forge{Kind: ForgeGitLab, URL: "https://gitlab.example.com", Repo: "group/sub/app"}},
			"https://gitlab.example.com/group/sub/app/-/commit/" + c},
		{"gitlab by number", Project{Forge: Forge{Kind: ForgeGitLab, URL: "https://gitlab.example.com", Repo: "42"}}, ""},
		{"commit_url first", Project{CommitURL: "https://x.example.com/$BUILD_COMMIT", Forge: Forge{Kind: ForgeGitea, URL: "https://g", Repo: "a/b"}},
			"https://x.example.com/" + c},
		{"no forge", Project{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.CommitLink(vars); got != tc.want {
				t.Errorf("CommitLink = %q, want %q", got, tc.want)
			}
		})
	}
	p := Project{Forge: Forge{Kind: ForgeGitea, URL: "https://git.example.com", Repo: "a/b"}}
	if got := p.CommitLink(map[string]string{}); got != "" {
		t.Errorf("CommitLink without a commit = %q", got)
	}
}
