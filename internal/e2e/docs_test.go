package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"pipelined/internal/config"
	"pipelined/internal/testenv"
)

// TestEveryConfigKeyIsDocumented reads the keys from the configuration reader's own table,
// so that a key added there (by anyone) must be documented in docs/ and in the man page
// pipelined.ini(5), as `pipelined --generate-man-pages` writes it and man(1) shows it.
func TestEveryConfigKeyIsDocumented(t *testing.T) {
	testenv.EndToEnd(t)
	t.Parallel()
	root := testenv.ModuleRoot(t)
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("no docs/*.md: %v", err)
	}
	var all strings.Builder
	for _, d := range docs {
		all.WriteString(readFile(t, d))
	}
	dir := t.TempDir()
	if res := run(t, nil, bin.pipelined, "--generate-man-pages", dir); res.code != 0 {
		t.Fatalf("pipelined --generate-man-pages: exit %d\n%s", res.code, res.stderr)
	}
	man := testenv.ManPage(t, filepath.Join(dir, "man5", "pipelined.ini.5"))
	if len(config.Keys) < 30 {
		t.Fatalf("only %d keys in config.Keys", len(config.Keys))
	}
	for _, k := range config.Keys {
		// A row of the reference table, and a mention where a person reads about it.
		if !strings.Contains(all.String(), "| `"+k.Name+"` |") {
			t.Errorf("key %s has no row in the reference table of docs/", k.Name)
		}
		// man shows each key as a term at the start of an indented line: "KEY (kind, …)".
		term := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(k.Name) + ` \(`)
		if !term.MatchString(man) {
			t.Errorf("key %s is not a term of pipelined.ini(5)", k.Name)
		}
	}
	// README.md stays an introduction: the reference lives in docs/.
	readme := readFile(t, filepath.Join(root, "README.md"))
	if n := strings.Count(readme, "\n"); n > 260 {
		t.Errorf("README.md has %d lines; the reference belongs in docs/", n)
	}
	for _, want := range []string{"make demo", "make test"} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md lacks %q", want)
		}
	}
	// Every relative link of the README and of docs/ leads to a file.
	for _, f := range append(docs, filepath.Join(root, "README.md")) {
		for _, m := range regexp.MustCompile(`\]\(([^)#:]+)(#[^)]*)?\)`).FindAllStringSubmatch(readFile(t, f), -1) {
			if _, err := os.Stat(filepath.Join(filepath.Dir(f), m[1])); err != nil {
				t.Errorf("%s: link %s leads nowhere", filepath.Base(f), m[1])
			}
		}
	}
}
