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

// TestREADMEHasTheCurrentConfigReference keeps the README's key table equal to Keys.
func TestREADMEHasTheCurrentConfigReference(t *testing.T) {
	const path = "../../README.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	begin := strings.Index(readme, referenceBegin)
	end := strings.Index(readme, referenceEnd)
	if begin < 0 || end < begin {
		t.Fatalf("README.md lacks the config-reference markers")
	}
	current := readme[begin+len(referenceBegin) : end]
	if current == Reference() {
		return
	}
	if *update {
		readme = readme[:begin+len(referenceBegin)] + Reference() + readme[end:]
		if err := os.WriteFile(path, []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's configuration reference is out of date; run go test ./internal/config -update")
}
