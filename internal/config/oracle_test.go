package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"pipelined/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the .golden files of testdata/ini")

// kinds maps every key to its kind, for the oracle to read it as configparser would.
func kinds() map[string]string {
	m := map[string]string{}
	for _, k := range Keys {
		m[k.Name] = k.Kind()
	}
	return m
}

func corpus(t *testing.T) []string {
	files, err := filepath.Glob("testdata/ini/*.ini")
	if err != nil || len(files) < 40 {
		t.Fatalf("the corpus testdata/ini has %d files, want at least 40 (%v)", len(files), err)
	}
	return files
}

// TestReadingMatchesConfigparser is the differential test of SPEC §4.1: for every file of
// the corpus, our reading and Python's are the same, key by key, or both refuse the file.
func TestReadingMatchesConfigparser(t *testing.T) {
	files := corpus(t)
	python := testenv.Configparser(t, files, kinds())
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			py := python[file]
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := ReadDocument(src, file)
			if py.OK != (err == nil) {
				t.Fatalf("configparser ok=%v (%s), ours: %v", py.OK, py.Error, err)
			}
			if err != nil {
				return
			}
			var gotNames, wantNames []string
			for _, s := range doc.Sections {
				gotNames = append(gotNames, s.Name)
			}
			for _, s := range py.Sections {
				wantNames = append(wantNames, s.Name)
			}
			if !reflect.DeepEqual(gotNames, wantNames) {
				t.Fatalf("sections = %q, configparser has %q", gotNames, wantNames)
			}
			for i, want := range py.Sections {
				got := doc.Sections[i]
				if !reflect.DeepEqual(got.Values, want.Values) {
					t.Errorf("[%s] values differ:\n ours   %q\n python %q", want.Name, got.Values, want.Values)
				}
				compareTyped(t, got, py.Typed[want.Name])
			}
		})
	}
}

// compareTyped checks our boolean, integer and regex readings against getboolean, getint
// and re.compile: the same value, or both refuse. Where only Go refuses a regex, the reason
// must be the RE2 dialect and the message must say so.
func compareTyped(t *testing.T, sec *Section, python map[string]any) {
	t.Helper()
	for key, want := range python {
		text := sec.Values[key]
		var got any = "error"
		switch kinds()[key] {
		case "boolean":
			if b, ok := pyBool(text); ok {
				got = b
			}
		case "integer":
			if n, ok := pyInt(text); ok {
				got = float64(n)
			}
		case "seconds", "count":
			if pyStrip(text) == "" {
				got = nil
			} else if n, ok := pyInt(text); ok {
				got = float64(n)
			}
		case "regex":
			_, msg := compileRefPattern(text)
			if msg == "" {
				got = text
			} else if want != "error" {
				if !strings.Contains(msg, "RE2") && !strings.Contains(msg, continued) {
					t.Errorf("[%s] %s = %q: Python accepts it, Go refuses it without saying why: %s", sec.Name, key, text, msg)
				}
				continue
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("[%s] %s = %q: ours %v, configparser %v", sec.Name, key, text, got, want)
		}
	}
}

// TestLoadReportsGolden pins what Load says about every file of the corpus: each error and
// warning with file, line, section and key. Run with -update after a deliberate change.
func TestLoadReportsGolden(t *testing.T) {
	for _, file := range corpus(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			got := report(file)
			golden := strings.TrimSuffix(file, ".ini") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/config -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("Load(%s) reports\n%s\nwant\n%s", file, got, want)
			}
		})
	}
}

func report(file string) string {
	cfg, err := Load(file)
	var b strings.Builder
	if err != nil {
		for _, e := range Problems(err) {
			fmt.Fprintf(&b, "error: %v\n", e)
		}
		return b.String()
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(&b, "warning: %v\n", w)
	}
	for _, p := range cfg.Projects {
		fmt.Fprintf(&b, "project %s (line %d)\n", p.Name, p.Line)
	}
	return b.String()
}

// TestErrorsAreConfigErrors makes sure every problem Load reports is a *Error, so that the
// caller can tell a broken file (exit 2) from anything else.
func TestErrorsAreConfigErrors(t *testing.T) {
	for _, file := range corpus(t) {
		_, err := Load(file)
		for _, e := range Problems(err) {
			var ce *Error
			if e != nil && !errors.As(e, &ce) {
				t.Errorf("Load(%s): %v is a %T, want *config.Error", file, e, e)
			}
		}
	}
}
