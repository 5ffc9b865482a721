package watch

import (
	"strings"
	"testing"

	"pipelined/internal/config"
	"pipelined/internal/git"
	"pipelined/internal/spool"
)

// The projects of the decision tests, by name.
const decideConfig = `[app]
remote = /r
branches = main|release-.*
tags = v.*

[tags-only]
remote = /r
tags = v[0-9]+

[pulls]
remote = /r
branches = main
forge = github
forge.url = https://forge.example.org
forge.repo = o/r
forge.token_env = PIPELINED_TEST_NONE
pull_requests = True
`

func parseProjects(t *testing.T, text string) map[string]*config.Project {
	t.Helper()
	cfg, err := config.Parse(strings.NewReader(text), "test.ini")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*config.Project{}
	for _, p := range cfg.Projects {
		byName[p.Name] = p
	}
	return byName
}

func commitOf(c byte) string { return strings.Repeat(string(c), 40) }

// TestDecideRefFiltersByPattern: a ref is built only when its full name matches the
// project's branches (a branch) or tags (a tag), or it is a pull request's head and the
// project has pull_requests; any other ref is not in the report at all.
func TestDecideRefFiltersByPattern(t *testing.T) {
	projects := parseProjects(t, decideConfig)
	none := func(string, string, string) string { return "" }
	for _, tc := range []struct {
		project, ref string
		want         string
	}{
		{"app", "refs/heads/main", actionQueued},
		{"app", "refs/heads/main2", ""}, // the pattern matches the whole name
		{"app", "refs/heads/not-main", ""},
		{"app", "refs/heads/release-1.2", actionQueued},
		{"app", "refs/heads/release-", actionQueued}, // .* matches nothing too
		{"app", "refs/heads/v1.0", ""},               // a branch named like a tag
		{"app", "refs/tags/v1.0", actionQueued},
		{"app", "refs/tags/main", ""}, // a tag named like a branch
		{"app", "refs/tags/nightly", ""},
		{"app", "refs/pull/7/head", ""}, // no pull_requests
		{"app", "refs/notes/commits", ""},
		{"app", "refs/remotes/origin/main", ""},
		{"tags-only", "refs/heads/main", ""}, // no branches at all
		{"tags-only", "refs/tags/v12", actionQueued},
		{"tags-only", "refs/tags/v1.2", ""},
		{"pulls", "refs/pull/7/head", actionQueued},
		{"pulls", "refs/merge-requests/9/head", actionQueued},
		{"pulls", "refs/pull/7/merge", ""}, // not a request's head
		{"pulls", "refs/pull/07/head", ""},
		{"pulls", "refs/heads/main", actionQueued},
		{"pulls", "refs/tags/v1.0", ""},
	} {
		ref := git.Ref{Name: tc.ref, Commit: commitOf('a')}
		got, detail := decideRef(projects[tc.project], ref, nil, none, false)
		if got != tc.want || detail != "" {
			t.Errorf("[%s] %s: %q (%q), want %q", tc.project, tc.ref, got, detail, tc.want)
		}
	}
}

// TestDecideRefSkipsWhatIsQueuedRunningOrBuilt: a wanted ref is skipped, saying why, when
// the job of its commit is queued or running, or its commit has a build directory (a
// successful build, one not successful or running (.tmp), a rebuild's) or a record; the
// first poll of a project with build_existing = False records what it would queue.
func TestDecideRefSkipsWhatIsQueuedRunningOrBuilt(t *testing.T) {
	app := parseProjects(t, decideConfig)["app"]
	main := git.Ref{Name: "refs/heads/main", Commit: commitOf('a')}
	key := func(ref git.Ref) string { return spool.Job{Project: "app", Ref: ref.Name, Commit: ref.Commit}.Key() }
	queuedMain := map[string]string{key(main): "queued as job 1.job"}
	for _, tc := range []struct {
		name      string
		ref       git.Ref
		pending   map[string]string
		dir       string // the build directory of the ref's commit
		recording bool
		action    string
		detail    string
	}{
		{"new", main, nil, "", false, actionQueued, ""},
		{"queued", main, queuedMain, "", false, actionSkipped, "already queued as job 1.job"},
		{"running", main, map[string]string{key(main): "running as job 2.job"}, "", false, actionSkipped, "already running as job 2.job"},
		{"queued for another commit", main, map[string]string{key(git.Ref{Name: main.Name, Commit: commitOf('b')}): "queued as job 3.job"},
			"", false, actionQueued, ""},
		{"queued for another project", main, map[string]string{spool.Job{Project: "other", Ref: main.Name, Commit: main.Commit}.Key(): "queued as job 4.job"},
			"", false, actionQueued, ""},
		{"built", main, nil, "/w/app/refs%2Fheads%2Fmain/aaaaaaaa", false, actionSkipped,
			"already built in /w/app/refs%2Fheads%2Fmain/aaaaaaaa"},
		{"a rebuild built", main, nil, "/w/app/refs%2Fheads%2Fmain/aaaaaaaa-2", false, actionSkipped,
			"already built in /w/app/refs%2Fheads%2Fmain/aaaaaaaa-2"},
		{"failed or running", main, nil, "/w/app/refs%2Fheads%2Fmain/aaaaaaaa.tmp", false, actionSkipped,
			"already built in /w/app/refs%2Fheads%2Fmain/aaaaaaaa.tmp (not successful, or still running)"},
		{"recorded", main, nil, "/w/app/refs%2Fheads%2Fmain/aaaaaaaa.recorded", false, actionSkipped,
			"recorded without a build in /w/app/refs%2Fheads%2Fmain/aaaaaaaa.recorded (build_existing = False)"},
		{"first poll records", main, nil, "", true, actionRecorded, RecordedReason},
		{"first poll skips what is queued", main, queuedMain, "", true, actionSkipped, "already queued as job 1.job"},
		{"first poll skips what is built", main, nil, "/w/b", true, actionSkipped, "already built in /w/b"},
		{"first poll records no ref it does not build", git.Ref{Name: "refs/heads/main2", Commit: main.Commit}, nil, "", true, "", ""},
	} {
		var asked []string
		existing := func(project, ref, commit string) string {
			asked = append(asked, project+" "+ref+" "+commit)
			return tc.dir
		}
		action, detail := decideRef(app, tc.ref, tc.pending, existing, tc.recording)
		if action != tc.action || detail != tc.detail {
			t.Errorf("%s: %q %q, want %q %q", tc.name, action, detail, tc.action, tc.detail)
		}
		if len(asked) > 0 && asked[0] != "app "+tc.ref.Name+" "+tc.ref.Commit {
			t.Errorf("%s: asked for the build directory of %q", tc.name, asked[0])
		}
		// The build directories are looked for only when no job is pending: a queue of
		// thousands costs no stat each.
		if wantAsked := tc.action != "" && !strings.HasPrefix(tc.detail, "already queued") &&
			!strings.HasPrefix(tc.detail, "already running"); (len(asked) == 1) != wantAsked {
			t.Errorf("%s: build directories asked %d times", tc.name, len(asked))
		}
	}
}
