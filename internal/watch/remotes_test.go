package watch

import (
	"fmt"
	"strings"
	"testing"

	"pipelined/internal/config"
)

const remotesConfig = `[a]
remote = /ra
branches = main

[b]
remote = /rb
branches = main

[c]
remote = /rb
tags = v.*

[hooks]
remote = /rc
branches = main
watch = False

[off]
enabled = False
remote = /rd
branches = main

[nothing]
remote = /re

[pulls]
remote = /rf
forge = github
forge.url = https://forge.example.org
forge.repo = o/r
forge.token_env = PIPELINED_TEST_NONE
pull_requests = True
`

// grouped shows remotes as "URL: PROJECT,PROJECT" in the order of urls.
func grouped(byURL map[string]*remote, urls []string) string {
	var lines []string
	for _, url := range urls {
		var names []string
		for _, p := range byURL[url].projects {
			names = append(names, p.Name)
		}
		lines = append(lines, url+": "+strings.Join(names, ","))
	}
	if len(byURL) != len(urls) {
		lines = append(lines, fmt.Sprintf("%d remotes beside", len(byURL)-len(urls)))
	}
	return strings.Join(lines, "; ")
}

// TestGroupRemotesAsksEachRemoteOnceForItsPolledProjects: projects that share a remote
// share one ls-remote; a project disabled, not watched, or with neither branches nor tags
// (nor pull_requests) is not polled; --project restricts the pass.
func TestGroupRemotesAsksEachRemoteOnceForItsPolledProjects(t *testing.T) {
	cfg, err := config.Parse(strings.NewReader(remotesConfig), "test.ini")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		only []string
		want string
	}{
		{nil, "/ra: a; /rb: b,c; /rf: pulls"},
		{[]string{"c"}, "/rb: c"},
		{[]string{"c", "a"}, "/ra: a; /rb: c"},
		{[]string{"hooks", "off", "nothing"}, ""},
		{[]string{"gone"}, ""},
	} {
		if got := grouped(groupRemotes(cfg, tc.only)); got != tc.want {
			t.Errorf("only %q: %q, want %q", tc.only, got, tc.want)
		}
	}
}

// TestRequestedRemotes: `pipelined poll PROJECT` makes the remotes of the projects named
// due, each once, in the order of the configuration; a name of no polled project asks
// for none (the caller then polls every remote).
func TestRequestedRemotes(t *testing.T) {
	cfg, err := config.Parse(strings.NewReader(remotesConfig), "test.ini")
	if err != nil {
		t.Fatal(err)
	}
	byURL, urls := groupRemotes(cfg, nil)
	for _, tc := range []struct {
		named []string
		want  string
	}{
		{[]string{"b"}, "/rb for b"},
		{[]string{"c"}, "/rb for c"},
		{[]string{"c", "b"}, "/rb for b"}, // one poll of the remote, named by its first project
		{[]string{"pulls", "a"}, "/ra for a, /rf for pulls"},
		{[]string{"hooks"}, ""}, // not polled
		{[]string{"gone"}, ""},
		{nil, ""},
	} {
		named := map[string]bool{}
		for _, n := range tc.named {
			named[n] = true
		}
		due, projects := requestedRemotes(byURL, urls, named)
		var got []string
		for i := range due {
			got = append(got, due[i]+" for "+projects[i])
		}
		if strings.Join(got, ", ") != tc.want {
			t.Errorf("poll %q: %q, want %q", tc.named, got, tc.want)
		}
	}
}
