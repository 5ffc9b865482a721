package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"
)

// ManWidth is the terminal width the man pages are checked at.
const ManWidth = 80

// ManPage renders a man page file as man(1) shows it at ManWidth columns (man-db's man -l)
// and returns the text. The test fails if man or groff warns about the page (an unknown
// macro, a bad escape, a character groff cannot read), or if a line is wider than the
// terminal (a preformatted example that does not fit).
func ManPage(t testing.TB, path string) string {
	t.Helper()
	Require(t, "man", "groff")
	cmd := exec.Command("man", "-l", "--warnings=w", path)
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", "LC_ALL=C.UTF-8", "MAN_KEEP_FORMATTING=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Errorf("man -l %s: %v\n%s", path, err, stderr.String())
	}
	// groff directly, without man's preconv: the page itself must be plain roff.
	if out, err := exec.Command("groff", "-man", "-ww", "-z", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("groff -man -ww -z %s: %v\n%s", path, err, out)
	}
	text := stdout.String()
	for _, line := range strings.Split(text, "\n") {
		if utf8.RuneCountInString(line) > ManWidth {
			t.Errorf("%s: a line wider than %d columns:\n%s", path, ManWidth, line)
		}
	}
	return text
}

// ManSections returns the section headings of a page rendered by ManPage, in order: the
// lines that start at the left margin, between the header and the footer.
func ManSections(text string) []string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	var sections []string
	for i, line := range lines {
		if i == 0 || i == len(lines)-1 || line == "" || line[0] == ' ' {
			continue
		}
		sections = append(sections, line)
	}
	return sections
}
