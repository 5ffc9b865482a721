package workdir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEncodeRef(t *testing.T) {
	cases := map[string]string{
		"refs/heads/master":    "refs%2Fheads%2Fmaster",
		"refs/heads/a%2Fb":     "refs%2Fheads%2Fa%252Fb",
		"refs/tags/v1.0+b":     "refs%2Ftags%2Fv1.0%2Bb",
		"refs/heads/ü":         "refs%2Fheads%2F%C3%BC",
		"refs/heads/-x":        "refs%2Fheads%2F-x",
		"refs/heads/a b:c@d=e": "refs%2Fheads%2Fa%20b%3Ac%40d%3De",
	}
	for ref, want := range cases {
		got := EncodeRef(ref)
		if got != want {
			t.Errorf("EncodeRef(%q) = %q, want %q", ref, got, want)
		}
		if strings.ContainsAny(got, "/\x00") || got == "." || got == ".." {
			t.Errorf("EncodeRef(%q) = %q is not a single path component", ref, got)
		}
		if n := EncodedLength(ref); n != len(got) {
			t.Errorf("EncodedLength(%q) = %d, want %d", ref, n, len(got))
		}
	}
}

func TestCreateNeverReusesABuildDirectory(t *testing.T) {
	l, _ := New(t.TempDir())
	commit := strings.Repeat("c", 40)
	first, err := l.Create("p", "refs/heads/main", commit)
	if err != nil || filepath.Base(first) != "cccccccc.tmp" {
		t.Fatalf("Create = %q, %v", first, err)
	}
	if !l.Exists("p", "refs/heads/main", commit) {
		t.Error("Exists is false for a .tmp directory")
	}
	second, _ := l.Create("p", "refs/heads/main", commit)
	final, err := Finish(second)
	if err != nil || filepath.Base(final) != "cccccccc-2" {
		t.Fatalf("second build: %q, %v", final, err)
	}
	third, _ := l.Create("p", "refs/heads/main", commit)
	if filepath.Base(third) != "cccccccc-3.tmp" {
		t.Errorf("third build got %q", third)
	}
	if _, err := os.Stat(first); err != nil {
		t.Errorf("the first build's directory is gone: %v", err)
	}
}

func TestExistsCountsRebuilds(t *testing.T) {
	l := Layout{Root: t.TempDir()}
	commit := "0123456789abcdef0123456789abcdef01234567"
	dir := filepath.Join(l.RefDir("p", "refs/heads/main"), "01234567-2")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if !l.Exists("p", "refs/heads/main", commit) {
		t.Error("a rebuild's directory alone does not count as built")
	}
	if l.Exists("p", "refs/heads/main", "89abcdef"+strings.Repeat("0", 32)) {
		t.Error("another commit counts as built")
	}
}
