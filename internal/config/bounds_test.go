package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// parse loads src as the file "c.ini".
func parse(src string) (*Config, error) { return Parse(strings.NewReader(src), "c.ini") }

// onlyError returns the one *Error of err, failing the test if there is not exactly one.
func onlyError(t *testing.T, err error) *Error {
	t.Helper()
	problems := Problems(err)
	if len(problems) != 1 {
		t.Fatalf("want one problem, got %d: %v", len(problems), err)
	}
	var e *Error
	if !errors.As(problems[0], &e) {
		t.Fatalf("%v is a %T, want *config.Error", problems[0], problems[0])
	}
	return e
}

// TestRealisticConfigurationsFitTheBound: 2,000 projects of the usual shape, sharing
// [DEFAULT] settings, stay within MaxEffectiveSize.
func TestRealisticConfigurationsFitTheBound(t *testing.T) {
	var b strings.Builder
	b.WriteString("[DEFAULT]\nhost = git.example.org\nbranches = main|release/.*\nbuild = True\nrun = True\ntimeout = 600\n")
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&b, "[project-%d]\nremote = https://%%(host)s/team/project-%d.git\ntag = project-%d:${BUILD_SHORT_COMMIT}\nenv =\n  GOFLAGS=-mod=vendor\n  CGO_ENABLED=0\n", i, i, i)
	}
	cfg, err := parse(b.String())
	if err != nil {
		t.Fatal(onlyError(t, err))
	}
	if len(cfg.Projects) != 2000 {
		t.Errorf("%d projects, want 2000", len(cfg.Projects))
	}
}

// refusedAt returns the 0-based index of the section at which a file with fileKeys keys and
// headers and sections that each count perSection goes past MaxEffectiveSize, or -1.
func refusedAt(fileKeys, sections, perSection int) int {
	total := fileKeys * fileKeyCost
	for i := 0; i < sections; i++ {
		if total += perSection; total > MaxEffectiveSize {
			return i
		}
	}
	return -1
}

// TestEffectiveSizeCountsInheritedValuesInEverySection: a 100 kB [DEFAULT] value is counted
// once for each section, so the section that takes the total past MaxEffectiveSize is refused,
// and a file with one section less is not.
func TestEffectiveSizeCountsInheritedValuesInEverySection(t *testing.T) {
	const value = 100_000
	perSection := sectionCost + 2*keyCost + value + len("/r") // remote and big
	sections := func(n int) string {
		var b strings.Builder
		b.WriteString("[DEFAULT]\nbig = " + strings.Repeat("x", value) + "\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "[p%d]\nremote = /r\n", i)
		}
		return b.String()
	}
	n := 1
	for refusedAt(2+2*n, n, perSection) < 0 { // [DEFAULT], big, and a header and remote each
		n++
	}
	at := refusedAt(2+2*n, n, perSection)
	if _, err := parse(sections(n - 1)); err != nil {
		t.Fatalf("%d sections: %v", n-1, err)
	}
	_, err := parse(sections(n))
	e := onlyError(t, err)
	wantLine := 3 + 2*at // the header of the section
	if e.Section != fmt.Sprintf("p%d", at) || e.Line != wantLine || e.Key != "" || !strings.Contains(e.Msg, "grows beyond 32 MiB here") {
		t.Errorf("%d sections: %#v, want the header of [p%d] on line %d and the bound", n, e, at, wantLine)
	}
}

// TestEffectiveSizeCountsExpandedReferences: a reference counts at its expanded size, and the
// value is refused before it is built.
func TestEffectiveSizeCountsExpandedReferences(t *testing.T) {
	const value, n = 500_000, 40
	var b strings.Builder
	b.WriteString("[DEFAULT]\nhalf = " + strings.Repeat("x", value) + "\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "[p%d]\nremote = /r\nlabel = a=%%(half)s\n", i)
	}
	e := onlyError(t, func() error { _, err := parse(b.String()); return err }())
	// Each section holds half itself and label, both about value bytes.
	perSection := sectionCost + 3*keyCost + len("/r") + value + len("a=") + value
	if want := fmt.Sprintf("p%d", refusedAt(2+3*n, n, perSection)); e.Section != want || !strings.Contains(e.Msg, "32 MiB") {
		t.Errorf("%#v, want the bound at [%s]", e, want)
	}
}

// TestFileBeyondTheBoundIsRefusedWhileScanned: a file with too many keys is refused at the
// key that goes past the bound, before ini.v1 reads it.
func TestFileBeyondTheBoundIsRefusedWhileScanned(t *testing.T) {
	over := MaxEffectiveSize/fileKeyCost - 1 // [web], remote and over keys k… are one too many
	var b strings.Builder
	b.WriteString("[web]\nremote = /r\n")
	for i := 0; i < over+10; i++ {
		fmt.Fprintf(&b, "k%d =\n", i)
	}
	e := onlyError(t, func() error { _, err := parse(b.String()); return err }())
	if e.Section != "web" || e.Key != fmt.Sprintf("k%d", over-1) || e.Line != 2+over || !strings.Contains(e.Msg, "grows beyond 32 MiB") {
		t.Errorf("%#v, want key k%d on line %d", e, over-1, 2+over)
	}
}

// TestValueSizeBound: a value made by references or %% may be MaxValueSize bytes, not more;
// a value without "%" is bounded by the file size only.
func TestValueSizeBound(t *testing.T) {
	exact := "[web]\nremote = /r\nbig = " + strings.Repeat("x", MaxValueSize) + "\nlabel = %(big)s\n"
	cfg, err := parse(exact)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(cfg.Projects[0].Label); got != MaxValueSize {
		t.Errorf("label has %d bytes, want %d", got, MaxValueSize)
	}
	for name, src := range map[string]string{
		"reference": "[web]\nremote = /r\nbig = " + strings.Repeat("x", MaxValueSize) + "\nlabel = x%(big)s\n",
		"escape":    "[web]\nremote = /r\nlabel = %%" + strings.Repeat("x", MaxValueSize) + "\n",
	} {
		_, err := parse(src)
		e := onlyError(t, err)
		if e.Key != "label" || e.Line != 3+strings.Count(name, "reference") || e.Msg != "the value grows beyond 1024 KiB through %(name)s references" {
			t.Errorf("%s: %#v", name, e)
		}
	}
}

// TestInterpolationErrorsQuoteNothing: a bad "%" is located by its line, as the value may be
// a secret.
func TestInterpolationErrorsQuoteNothing(t *testing.T) {
	cases := map[string]string{
		"[web]\nremote = /r\nenv =\n  A=1\n  B=p%ssw0rd\n":    "a % must be followed by % or (; write %% for a literal %",
		"[web]\nremote = /r\nenv =\n  A=1\n  B=p%(ssw0rd\n":   "bad interpolation reference: a %( must be followed by a name and )s; write %(name)s, or %% for a literal %",
		"[web]\nremote = /r\nenv =\n  A=1\n  B=p%(ssw0rd)d\n": "bad interpolation reference: a %( must be followed by a name and )s; write %(name)s, or %% for a literal %",
	}
	for src, want := range cases {
		e := onlyError(t, func() error { _, err := parse(src); return err }())
		if e.Line != 5 || e.Key != "env" || e.Msg != want || strings.Contains(e.Error(), "ssw0rd") {
			t.Errorf("%q: %#v, want line 5 and %q", src, e, want)
		}
	}
}

// TestInlineEnvErrorsQuoteNothing: a malformed env line is named by its line, never shown —
// not even a base64 token on a line of its own, which would look like a name.
func TestInlineEnvErrorsQuoteNothing(t *testing.T) {
	_, err := parse("[web]\nremote = /r\nenv =\n  A=1\n  hunter2\n  c2Vj+cmV0==\n")
	problems := Problems(err)
	if len(problems) != 2 {
		t.Fatalf("want two problems, got %v", err)
	}
	for i, want := range []string{
		`c.ini:5: [web] env: not a NAME=value line: it has no "="; write one NAME=value per line`,
		`c.ini:6: [web] env: the name before "=" is not a variable name (letters, digits and _, not starting with a digit); write one NAME=value per line`,
	} {
		if got := problems[i].Error(); got != want {
			t.Errorf("problem %d = %q, want %q", i, got, want)
		}
	}
}

func TestProblems(t *testing.T) {
	if got := Problems(nil); got != nil {
		t.Errorf("Problems(nil) = %v, want none", got)
	}
	one := &Error{File: "c.ini", Msg: "one"}
	if got := Problems(one); len(got) != 1 || got[0] != one {
		t.Errorf("Problems(one) = %v, want it alone", got)
	}
	two := &Error{File: "c.ini", Msg: "two"}
	if got := Problems(errors.Join(one, two)); len(got) != 2 || got[0] != one || got[1] != two {
		t.Errorf("Problems(joined) = %v, want both", got)
	}
	_, err := parse("[a]\nenabled = maybe\n")
	if got := Problems(err); len(got) != 2 {
		t.Errorf("Problems of a Load error = %q, want the bad boolean and the missing remote", got)
	}
}

// TestSplitLinesIsUniversalNewlines compares splitLines with the obvious definition.
func TestSplitLinesIsUniversalNewlines(t *testing.T) {
	for _, src := range []string{"", "\n", "a", "a\n", "a\n\n", "a\r\nb\rc\nd", "\r\r\n", "a\n\r\n\rb\r", "\n\nx"} {
		want := strings.Split(strings.ReplaceAll(strings.ReplaceAll(src, "\r\n", "\n"), "\r", "\n"), "\n")
		if want[len(want)-1] == "" {
			want = want[:len(want)-1] // a final terminator does not start a line
		}
		var got []string
		for i, line := range splitLines([]byte(src)) {
			if i != len(got) {
				t.Errorf("%q: line index %d, want %d", src, i, len(got))
			}
			got = append(got, line)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Errorf("splitLines(%q) = %q, want %q", src, got, want)
		}
	}
}

// TestEditDistance pins the distance suggest uses: optimal string alignment, with "_" and
// "." the same.
func TestEditDistance(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"build", "build", 0}, {"bulid", "build", 1},
		{"branch", "branches", 2}, {"rsync_delete", "rsync.delete", 0}, {"ca", "abc", 3},
		{"timout", "timeout", 1}, {"kitten", "sitting", 3},
		{strings.Repeat("a", 40), strings.Repeat("a", 38) + "bb", 2}, // beyond the stack rows
	}
	for _, tc := range cases {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestLoadRefusesAFIFOAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.ini")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := Load(path); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "FIFO") {
			t.Errorf("Load of a FIFO = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Load of a FIFO blocked")
	}
}
