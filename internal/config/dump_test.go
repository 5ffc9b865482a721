package config

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// TestDumpReadsBackToTheSameProjects: for every valid file of the corpus, Dump's output
// loads to the same projects with the same values, and dumping that again changes nothing.
func TestDumpReadsBackToTheSameProjects(t *testing.T) {
	for _, file := range corpus(t) {
		cfg, err := Load(file)
		if err != nil {
			continue
		}
		var first bytes.Buffer
		if err := cfg.Dump(&first); err != nil {
			t.Fatal(err)
		}
		again, err := Parse(bytes.NewReader(first.Bytes()), "dump")
		if err != nil {
			t.Errorf("%s: the dump does not load: %v\n%s", file, err, first.String())
			continue
		}
		assertSameProjects(t, file, cfg, again)
		var second bytes.Buffer
		_ = again.Dump(&second)
		if a, b := dropFirstLine(first.String()), dropFirstLine(second.String()); a != b {
			t.Errorf("%s: dump is not stable:\n%s\n---\n%s", file, a, b)
		}
	}
}

func assertSameProjects(t *testing.T, file string, a, b *Config) {
	t.Helper()
	if len(a.Projects) != len(b.Projects) {
		t.Fatalf("%s: %d projects, after dump %d", file, len(a.Projects), len(b.Projects))
	}
	for i := range a.Projects {
		if !reflect.DeepEqual(a.Projects[i].values, b.Projects[i].values) {
			t.Errorf("%s: [%s] values differ after dump:\n %q\n %q", file, a.Projects[i].Name, a.Projects[i].values, b.Projects[i].values)
		}
	}
}

func dropFirstLine(s string) string {
	_, rest, _ := strings.Cut(s, "\n")
	return rest
}

func TestDumpEscapesPercentAndIndentsLines(t *testing.T) {
	cfg, err := Parse(strings.NewReader("[p]\nremote = /r\nlabel = a=100%%\nenv =\n  A=1\n\n  B=2\n"), "t.ini")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_ = cfg.Dump(&b)
	for _, want := range []string{"label = a=100%%\n", "env = A=1\n\tB=2\n", "build = False\n", "tmpfs = 50\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Dump lacks %q:\n%s", want, b.String())
		}
	}
}
