package env

import (
	"strings"
	"testing"
)

func TestPrecedence(t *testing.T) {
	e := Compose([]string{"A=process", "B=process", "C=process", "BUILD_COMMIT=process"},
		[]Var{{"B", "file"}, {"C", "file"}, {"BUILD_COMMIT", "file"}},
		[]Var{{"C", "inline"}, {"BUILD_COMMIT", "inline"}})
	e.Set(BuildCommit, "runtime")
	want := map[string]string{"A": "process", "B": "file", "C": "inline", "BUILD_COMMIT": "runtime"}
	for name, value := range want {
		if got, _ := e.Lookup(name); got != value {
			t.Errorf("%s = %q, want %q", name, got, value)
		}
	}
	if got := strings.Join(e.DockerNames(), " "); got != "B C BUILD_COMMIT" {
		t.Errorf("DockerNames = %q: want the project's variables, then the runtime ones", got)
	}
	if got := e.Redact("x file inline y"); got != "x *** *** y" {
		t.Errorf("Redact = %q", got)
	}
}

func TestExpandIsStringTemplateSubstitute(t *testing.T) {
	lookup := func(name string) (string, bool) {
		v, ok := map[string]string{"BUILD_PROJECT": "web", "X": "1"}[name]
		return v, ok
	}
	cases := []struct {
		in, want string
		err      bool
	}{
		{"${BUILD_PROJECT}-$X", "web-1", false},
		{"$BUILD_PROJECT.x", "web.x", false},
		{"$$X", "$X", false},
		{"100$$", "100$", false},
		{"$NOPE", "", true},
		{"$", "", true},
		{"${X", "", true},
		{"${ X}", "", true},
		{"$1", "", true},
	}
	for _, tc := range cases {
		got, err := Expand(tc.in, lookup)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("Expand(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestInterpolateRefusesSecrets(t *testing.T) {
	e := Compose([]string{"HOST=example.org"}, nil, []Var{{"TOKEN", "hunter2hunter2"}})
	if got, err := e.Interpolate("tag", "$HOST"); err != nil || got != "example.org" {
		t.Errorf("Interpolate($HOST) = %q, %v", got, err)
	}
	if _, err := e.Interpolate("label", "t=$TOKEN"); err == nil || !strings.Contains(err.Error(), "$TOKEN comes from env") {
		t.Errorf("Interpolate($TOKEN) = %v, want a refusal naming the variable", err)
	}
	if _, err := e.Interpolate("tag", "$MISSING"); err == nil || !strings.Contains(err.Error(), "tag: unknown variable $MISSING") {
		t.Errorf("Interpolate($MISSING) = %v", err)
	}
}

func TestParseLines(t *testing.T) {
	vars, err := ParseLines("# comment\n\nA=1\n  B = two words \nC=x=y\n")
	if err != nil || len(vars) != 3 || vars[0] != (Var{"A", "1"}) || vars[1] != (Var{"B", "two words"}) || vars[2] != (Var{"C", "x=y"}) {
		t.Errorf("ParseLines = %q, %v", vars, err)
	}
	if _, err := ParseLines("A=1\nexport B=2\nnot a line\n"); err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("ParseLines of bad lines = %v, want both reported", err)
	}
}
