package config

import (
	"os"
	"strings"
	"testing"
)

const (
	referenceBegin = "<!-- config-reference: generated from internal/config/keys.go; go test ./internal/config -update rewrites it -->\n"
	referenceEnd   = "<!-- end of config-reference -->"
)

// TestDocsHaveTheCurrentConfigReference keeps the key table of docs/configuration.md equal
// to Keys.
func TestDocsHaveTheCurrentConfigReference(t *testing.T) {
	const path = "../../docs/configuration.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	begin := strings.Index(doc, referenceBegin)
	end := strings.Index(doc, referenceEnd)
	if begin < 0 || end < begin {
		t.Fatalf("docs/configuration.md lacks the config-reference markers")
	}
	current := doc[begin+len(referenceBegin) : end]
	if current == Reference() {
		return
	}
	if *update {
		doc = doc[:begin+len(referenceBegin)] + Reference() + doc[end:]
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/configuration.md's configuration reference is out of date; run go test ./internal/config -update")
}
