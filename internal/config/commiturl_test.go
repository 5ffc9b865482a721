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
