package main

import (
	"strings"
	"testing"

	"pipelined/internal/cli"
)

// pipeline-build(1) names what build.json holds for an operator, and the build's page.
func TestManPageNamesWhatBuildJSONHolds(t *testing.T) {
	text := newRootCommand().Annotations[cli.ManFiles]
	for _, want := range []string{"failed_output", "commit_url", "(source)", ".../index.html"} {
		if !strings.Contains(text, want) {
			t.Errorf("the FILES of pipeline-build(1) lack %q", want)
		}
	}
}
