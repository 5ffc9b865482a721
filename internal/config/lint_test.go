package config

import (
	"strings"
	"testing"
)

// warningsOf loads src and returns its warnings, failing the test on an error.
func warningsOf(t *testing.T, src string) []*Error {
	t.Helper()
	cfg, err := Parse(strings.NewReader(src), "test.ini")
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, src)
	}
	return cfg.Warnings
}

func TestTagThatLooksLikeARegex(t *testing.T) {
	for _, c := range []struct {
		tag  string
		warn bool
	}{
		{"app:latest", false},
		{"registry:5000/app:${BUILD_SHORT_COMMIT}", false},
		{"registry.example.com/team/app:$BUILD_REF_NAME", false},
		{"${BUILD_PROJECT}:${BUILD_SHORT_COMMIT}", false},
		{"app@sha256:0123abcd", false},
		{"my_app-1.2:v1.2.3", false},
		{"v.*", true},
		{"v[0-9]+", true},
		{"main|release", true},
		{"(v1|v2)", true},
		{`v\d+`, true},
		{"^v1", true},
		{"v?1", true},
		{"v{2}", true},
		{"app:$BUILD_REF_NAME|latest", true},
		{"v1$$", true}, // $$ is a literal "$": an anchor
	} {
		ws := warningsOf(t, "[p]\nremote = /r.git\nbranches = main\ntag = "+c.tag+"\n")
		var got *Error
		for _, w := range ws {
			if w.Key == "tag" {
				got = w
			}
		}
		if (got != nil) != c.warn {
			t.Errorf("tag = %s: warning %v, want %v", c.tag, got, c.warn)
			continue
		}
		if got != nil && (got.Line != 4 || got.Section != "p" || got.File != "test.ini" || !strings.Contains(got.Msg, `did you mean "tags"`)) {
			t.Errorf("tag = %s: %+v", c.tag, got)
		}
	}
}

func TestInlineCommentInARegex(t *testing.T) {
	for _, c := range []struct {
		line, key, quoted string
	}{
		{"branches = main ; release", "branches", `"; release"`},
		{"branches = main\t# the default branch", "branches", `"# the default branch"`},
		{"tags = v.* #releases", "tags", `"#releases"`},
		{"branches = main;dev", "", ""},       // no whitespace before: not a comment even where they are allowed
		{"branches = feature#1|main", "", ""}, // the same
	} {
		ws := warningsOf(t, "[p]\nremote = /r.git\n"+c.line+"\n")
		var got *Error
		for _, w := range ws {
			if w.Key == "branches" || w.Key == "tags" {
				got = w
			}
		}
		switch {
		case c.key == "" && got != nil:
			t.Errorf("%s: unexpected warning %v", c.line, got)
		case c.key != "" && got == nil:
			t.Errorf("%s: no warning", c.line)
		case c.key != "" && (got.Key != c.key || got.Line != 3 || !strings.Contains(got.Msg, c.quoted) ||
			!strings.Contains(got.Msg, "no inline comments")):
			t.Errorf("%s: %+v", c.line, got)
		}
	}
}

func TestInheritedInlineCommentIsReportedOnce(t *testing.T) {
	ws := warningsOf(t, "[DEFAULT]\nbranches = main # default\n\n[a]\nremote = /a.git\n\n[b]\nremote = /b.git\n")
	if len(ws) != 1 || ws[0].Section != "DEFAULT" || ws[0].Line != 2 || ws[0].Key != "branches" {
		t.Errorf("warnings %v, want one for [DEFAULT] line 2", ws)
	}
}

func TestProjectThatWatchesNothing(t *testing.T) {
	for _, c := range []struct {
		body string
		warn bool
	}{
		{"", true},
		{"branches =\ntags =\n", true},
		{"watch = True\n", true},
		{"branches = main\n", false},
		{"tags = v.*\n", false},
		{"watch = False\n", false},
		{"enabled = False\n", false},
	} {
		ws := warningsOf(t, "# comment\n[p]\nremote = /r.git\n"+c.body)
		var got *Error
		for _, w := range ws {
			if strings.Contains(w.Msg, "watches nothing") {
				got = w
			}
		}
		if (got != nil) != c.warn {
			t.Errorf("%q: warning %v, want %v", c.body, got, c.warn)
			continue
		}
		if got != nil && (got.Line != 2 || got.Section != "p" || got.Key != "" ||
			!strings.Contains(got.Msg, "branches = main") || !strings.Contains(got.Msg, "watch = False")) {
			t.Errorf("%q: %+v", c.body, got)
		}
	}
}

func TestEnginesWithoutBuild(t *testing.T) {
	for body, warn := range map[string]bool{
		"engines = b2\n":               true,
		"engines = b2\nbuild = True\n": false,
		"build = False\n":              false,
	} {
		var got *Error
		for _, w := range warningsOf(t, "[p]\nremote = /r.git\nbranches = main\n"+body) {
			if w.Key == "engines" {
				got = w
			}
		}
		if (got != nil) != warn || got != nil && !strings.Contains(got.Msg, "build is False") {
			t.Errorf("%q: warning %+v, want one: %v", body, got, warn)
		}
	}
}
