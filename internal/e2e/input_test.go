package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pipelined/internal/testenv"
	"pipelined/internal/workdir"
)

func TestBuildRefusesBadInput(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	repo.PushRef("main", "refs/heads/--upload-pack=touch")
	s.writeConfig("[p]\nremote = %s\n\n[off]\nremote = %s\nenabled = False\n", repo.Remote, repo.Remote)
	notJSON := s.file("bad.job", "{not json", 0o644)
	traversal := s.file("traversal.job", `{"project": "../p", "ref": "refs/heads/main"}`, 0o644)
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown project", []string{"nope", "main"}, 2, `project "nope" is not in`},
		{"disabled project", []string{"off", "main"}, 2, `project "off" is disabled`},
		{"ref git rejects", []string{"p", "refs/heads/a..b"}, 2, "not a valid git ref name"},
		{"ref with a control character", []string{"p", "refs/heads/a\nb"}, 2, "not a valid git ref name"},
		{"ref that looks like an option", []string{"p", "refs/heads/--upload-pack=touch"}, 2, "starting with '-'"},
		{"short name that looks like an option", []string{"p", "--upload-pack=x"}, 2, "unknown flag"},
		{"not a branch or tag", []string{"p", "refs/notes/x"}, 2, "neither a branch"},
		{"upper-case commit", []string{"p", "main", strings.Repeat("AB", 20)}, 2, "not 40 or 64 lower-case hex"},
		{"short commit", []string{"p", "main", "abc123"}, 2, "not 40 or 64 lower-case hex"},
		{"unknown branch", []string{"p", "no-such-branch"}, 1, `has no branch or tag "no-such-branch"`},
		{"job file not JSON", []string{"--job", notJSON}, 2, "not a job"},
		{"job file escaping its project", []string{"--job", traversal}, 2, "not a valid project name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := s.build(tc.args...)
			if res.code != tc.code || !strings.Contains(res.stderr, tc.msg) {
				t.Errorf("exit %d, %q; want exit %d and a message containing %q", res.code, res.stderr, tc.code, tc.msg)
			}
		})
	}
	if entries, _ := os.ReadDir(s.workdir); len(entries) > 0 {
		t.Errorf("refused builds wrote into the work directory: %v", entries)
	}
	if _, err := os.Stat(notJSON); err != nil {
		t.Errorf("pipeline-build removed a job file it refused: %v", err)
	}
}

func TestBuildOfOddButValidRefs(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	refs := []string{"refs/heads/100%", "refs/heads/a+b=c", "refs/heads/ünïcödé", "refs/heads/deep/er/and/deeper",
		"refs/heads/%2F.x", "refs/tags/v1.0+build.5"}
	for _, ref := range refs {
		repo.PushRef("main", ref)
	}
	s.writeConfig("[p]\nremote = %s\n", repo.Remote)
	for _, ref := range refs {
		res := s.build("p", ref)
		if res.code != 0 {
			t.Errorf("%s: exit %d\n%s", ref, res.code, res.stderr)
			continue
		}
		want := filepath.Join(s.workdir, "p", workdir.EncodeRef(ref), repo.Head()[:8])
		if _, err := os.Stat(filepath.Join(want, "build", "README")); err != nil {
			t.Errorf("%s: no checkout at %s: %v", ref, want, err)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(s.workdir, "p"))
	if len(entries) != len(refs) {
		t.Errorf("%d ref directories for %d refs", len(entries), len(refs))
	}
	// The project, and the state a build by hand makes the work directory one with.
	if top, _ := os.ReadDir(s.workdir); len(top) != 2 || top[0].Name() != ".pipelined" || top[1].Name() != "p" {
		t.Errorf("the work directory holds more than the project and .pipelined: %v", top)
	}
}
