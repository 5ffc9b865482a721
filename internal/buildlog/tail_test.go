package buildlog

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestTailKeepsTheLastLinesMaskedAndBounded(t *testing.T) {
	l, err := Create(filepath.Join(t.TempDir(), "build.log"), func(s string) string { return strings.ReplaceAll(s, "hunter2", "***") })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.File().WriteString("before the command\n")
	from := l.Size()
	l.File().WriteString("Receiving objects:  10%\rReceiving objects: 100%\r\n\n  \n" +
		"rsync: mkdir \"/srv/www/app/feature/x\" failed: No such file or directory (2)\n" +
		"token hunter2 in a line\nbad \xff byte\nno final newline")
	to := l.Size()
	l.File().WriteString("\nafter the command\n")
	got := l.Tail(from, to)
	want := []string{"Receiving objects: 100%", `rsync: mkdir "/srv/www/app/feature/x" failed: No such file or directory (2)`,
		"token *** in a line", "bad \uFFFD byte", "no final newline"}
	if !slices.Equal(got, want) {
		t.Errorf("Tail = %q, want %q", got, want)
	}
	if got := l.Tail(to, to); got != nil {
		t.Errorf("Tail of nothing = %q", got)
	}
}

func TestTailIsBoundedInLinesAndBytes(t *testing.T) {
	l, err := Create(filepath.Join(t.TempDir(), "build.log"), func(s string) string { return s })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 100 {
		fmt.Fprintf(l.File(), "line %d\n", i)
	}
	got := l.Tail(0, l.Size())
	if len(got) != TailLines || got[0] != "line 80" || got[TailLines-1] != "line 99" {
		t.Errorf("Tail of 100 lines = %q", got)
	}
	// One long line that began before the last TailBytes: its end is not shown (it could
	// be the end of a secret cut in two); the lines after it are.
	from := l.Size()
	l.File().WriteString("secret=" + strings.Repeat("x", 2*TailBytes) + "\nafter\n")
	got = l.Tail(from, l.Size())
	if !slices.Equal(got, []string{"after"}) {
		t.Errorf("Tail after a long line = %.200q", got)
	}
	total := 0
	for _, line := range l.Tail(0, l.Size()) {
		total += len(line)
	}
	if total > TailBytes {
		t.Errorf("Tail holds %d bytes, more than %d", total, TailBytes)
	}
}

// A secret that is not valid UTF-8 (a Latin-1 password in an env_file) is masked before the
// line is made valid UTF-8, which would otherwise change it so that it no longer matches.
func TestTailMasksASecretThatIsNotUTF8(t *testing.T) {
	secret := "p\xe4ssw\xf6rd"
	l, err := Create(filepath.Join(t.TempDir(), "build.log"), func(s string) string { return strings.ReplaceAll(s, secret, "***") })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.File().WriteString("login with " + secret + " refused\n")
	got := l.Tail(0, l.Size())
	if want := []string{"login with *** refused"}; !slices.Equal(got, want) {
		t.Errorf("Tail = %q, want %q", got, want)
	}
}
