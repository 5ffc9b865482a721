package config

import "testing"

func TestPyIntFollowsPythonInt(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"10", 10, true},
		{"010", 10, true}, // ini.v1's Key.Int reads this as octal 8
		{" +5 ", 5, true},
		{"-3", -3, true},
		{"1_000", 1000, true},
		{"٣", 3, true}, // ARABIC-INDIC DIGIT THREE
		{"𝟗", 9, true}, // MATHEMATICAL BOLD DIGIT NINE: runs of ten, adjacent
		{"0x10", 0, false},
		{"_1", 0, false},
		{"1_", 0, false},
		{"1__0", 0, false},
		{"", 0, false},
		{"+", 0, false},
		{"1.5", 0, false},
		{"99999999999999999999", 0, false},
	}
	for _, tc := range cases {
		got, ok := pyInt(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("pyInt(%q) = %d, %v, want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPyBoolFollowsGetboolean(t *testing.T) {
	cases := []struct {
		in       string
		want, ok bool
	}{
		{"1", true, true}, {"yes", true, true}, {"TrUe", true, true}, {"On", true, true},
		{"0", false, true}, {"no", false, true}, {"FALSE", false, true}, {"off", false, true},
		{"t", false, false}, {"y", false, false}, {"", false, false}, {" yes", false, false},
	}
	for _, tc := range cases {
		got, ok := pyBool(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("pyBool(%q) = %v, %v, want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPyLowerUsesFullCaseMapping(t *testing.T) {
	cases := map[string]string{
		"Branches": "branches",
		"İnfo":     "i\u0307nfo",
		"ΟΔΟΣ":     "οδος",
		"ΣΑ":       "σα",
		"Σ":        "σ",
	}
	for in, want := range cases {
		if got := pyLower(in); got != want {
			t.Errorf("pyLower(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPyStripTreatsInformationSeparatorsAsSpace(t *testing.T) {
	if got := pyStrip("\x1c a \u00a0\x1f"); got != "a" {
		t.Errorf("pyStrip = %q, want %q", got, "a")
	}
}

func TestInterpolate(t *testing.T) {
	vars := map[string]string{"host": "git.example.com", "url": "https://%(host)s/x", "pct": "100%%", "loop": "%(loop)s"}
	cases := []struct {
		in, want string
		err      bool
	}{
		{"%(url)s.git", "https://git.example.com/x.git", false},
		{"%(HOST)s", "git.example.com", false},
		{"%%(host)s", "%(host)s", false},
		{"%(pct)s", "100%", false},
		{"50%", "", true},
		{"%(host)d", "", true},
		{"%(nope)s", "", true},
		{"%(loop)s", "", true},
		{"%(unclosed", "", true},
	}
	for _, tc := range cases {
		got, err := interpolateIn(tc.in, vars)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("interpolate(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestSuggestFindsTyposOnly(t *testing.T) {
	cases := map[string]string{"bulid": "build", "branch": "branches", "rsync_delete": "rsync.delete",
		"timout": "timeout", "url": "", "host": "", "destination": ""}
	for in, want := range cases {
		if got := suggest(in); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}
