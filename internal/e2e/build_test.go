package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pipelined/internal/testenv"
)

// callbackScript records a callback's environment and working directory in the run
// directory, under the name given as its first argument.
const callbackScript = "#!/bin/sh\nenv > \"$BUILD_RUN_PATH/$1.env\"\necho \"PWD=$(pwd)\" >> \"$BUILD_RUN_PATH/$1.env\"\n"

func TestBuildChecksOutExactlyTheCommit(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	first := repo.Head()
	repo.Tag("v1.0")
	second := repo.Commit("second", map[string]string{"b": "2"})
	repo.Push("main")
	cb := s.file("cb.sh", callbackScript, 0o755)
	s.writeConfig(`[shallow]
remote = %[1]s
success_callback = %[2]s success

[full]
remote = %[1]s
shallow = False
success_callback = %[2]s success
`, repo.Remote, cb)

	cases := []struct {
		project, ref, commit string
		wantHead             string
		wantRef, wantBranch  string
		wantTag              string
	}{
		{"shallow", "main", "", second, "refs/heads/main", "main", ""},
		{"shallow", "v1.0", "", first, "refs/tags/v1.0", "", "v1.0"},
		{"full", "refs/heads/main", "", second, "refs/heads/main", "main", ""},
		{"full", "refs/tags/v1.0", "", first, "refs/tags/v1.0", "", "v1.0"},
		{"full", "main", first, first, "refs/heads/main", "main", ""}, // an older commit of the branch
	}
	for _, tc := range cases {
		args := []string{tc.project, tc.ref}
		if tc.commit != "" {
			args = append(args, tc.commit)
		}
		res := s.build(args...)
		if res.code != 0 {
			t.Fatalf("pipeline-build %v: exit %d\n%s", args, res.code, res.stderr)
		}
		dir := strings.TrimSpace(res.stderr[strings.LastIndex(res.stderr, "see ")+4:])
		if strings.HasSuffix(dir, ".tmp") {
			t.Errorf("%v: the build directory %s kept its .tmp suffix after success", args, dir)
		}
		if head := testenv.Git(t, filepath.Join(dir, "build"), "rev-parse", "HEAD"); head != tc.wantHead {
			t.Errorf("%v: checked out %s, want %s", args, head, tc.wantHead)
		}
		st := status(t, dir)
		if st.Result != "success" || st.Path != dir {
			t.Errorf("%v: build.json says %s at %s", args, st.Result, st.Path)
		}
		env := envFile(t, filepath.Join(dir, "success.env"))
		want := map[string]string{
			"BUILD_PROJECT": tc.project, "BUILD_REMOTE": repo.Remote, "BUILD_REF": tc.wantRef,
			"BUILD_REF_NAME": strings.TrimPrefix(strings.TrimPrefix(tc.wantRef, "refs/heads/"), "refs/tags/"),
			"BUILD_BRANCH":   tc.wantBranch, "BUILD_TAG": tc.wantTag,
			// The commit checked out, also for an annotated tag, whose tag object is
			// BUILD_TAG_OBJECT and names the build directory.
			"BUILD_COMMIT": tc.wantHead, "BUILD_SHORT_COMMIT": tc.wantHead[:8], "BUILD_TAG_OBJECT": st.TagObject,
			// The callback ran before the directory lost its .tmp suffix.
			"BUILD_RUN_PATH": dir + ".tmp", "BUILD_PATH": dir + ".tmp/build", "BUILD_DROP_PATH": dir + ".tmp/drop",
			"BUILD_LOG": dir + ".tmp/build.log", "PWD": dir + ".tmp/build",
		}
		for name, value := range want {
			if env[name] != value {
				t.Errorf("%v: callback saw %s=%q, want %q", args, name, env[name], value)
			}
		}
		if filepath.Base(dir) != st.JobCommit()[:8] {
			t.Errorf("%v: build directory %s is not named after the ref's commit %s", args, dir, st.JobCommit())
		}
		if st.Commit != tc.wantHead || st.Subject == "" {
			t.Errorf("%v: build.json records commit %s (%q), want %s", args, st.Commit, st.Subject, tc.wantHead)
		}
		if tag := tc.wantTag != ""; tag != (st.TagObject != "") {
			t.Errorf("%v: tag object %q", args, st.TagObject)
		} else if tag && st.TagObject != testenv.Git(t, repo.Remote, "rev-parse", "refs/tags/"+tc.wantTag) {
			t.Errorf("%v: tag object %s is not the one refs/tags/%s names", args, st.TagObject, tc.wantTag)
		}
	}
	// A rebuild of the same commit never writes into another build's directory.
	res := s.build("shallow", "main")
	if res.code != 0 || !strings.Contains(res.stderr, second[:8]+"-2") {
		t.Errorf("rebuild: exit %d, %s; want a new directory %s-2", res.code, res.stderr, second[:8])
	}
}

func TestShallowBuildFetchesACommitTheBranchHasMovedPast(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	old := repo.Head()
	repo.Commit("newer", nil)
	repo.Push("main")
	s.writeConfig("[p]\nremote = %s\n", repo.Remote)
	res := s.build("p", "main", old)
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	dir := s.onlyBuild("p")
	if head := testenv.Git(t, filepath.Join(dir, "build"), "rev-parse", "HEAD"); head != old {
		t.Errorf("checked out %s, want %s", head, old)
	}
	if log := readFile(t, filepath.Join(dir, "build.log")); !strings.Contains(log, "fetch --depth 1 origin "+old) {
		t.Errorf("build.log does not show the fetch by id:\n%s", log)
	}
}

func TestBuildOfACommitNotOnTheRemoteIsSkipped(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	cb := s.file("cb.sh", callbackScript, 0o755)
	s.writeConfig("[p]\nremote = %s\nerror_callback = %s error\n", repo.Remote, cb)
	missing := strings.Repeat("ab", 20)
	res := s.build("p", "main", missing)
	if res.code != 0 || !strings.Contains(res.stderr, "skipped") {
		t.Fatalf("exit %d, %q; want 0 and a summary saying skipped", res.code, res.stderr)
	}
	dir := s.onlyBuild("p")
	if !strings.HasSuffix(dir, ".tmp") {
		t.Errorf("a skipped build's directory %s lost its .tmp suffix", dir)
	}
	st := status(t, dir)
	if st.Result != "skipped" || !strings.Contains(st.Reason, "not in the clone") {
		t.Errorf("build.json: result %q, reason %q", st.Result, st.Reason)
	}
	env := envFile(t, filepath.Join(dir, "error.env"))
	if env["BUILD_STATUS"] != "skipped" || env["BUILD_STEP"] != "checkout" {
		t.Errorf("error_callback saw BUILD_STATUS=%q BUILD_STEP=%q", env["BUILD_STATUS"], env["BUILD_STEP"])
	}
}

func TestRsyncMirrorsTheCheckout(t *testing.T) {
	testenv.Require(t, "rsync")
	s := newSite(t)
	repo := testenv.NewRepo(t, map[string]string{"index.html": "home\n", "docs/a.txt": "a\n", "notes.tmp": "x\n",
		"include.txt": "+ */\n+ *.html\n+ *.txt\n- *\n"})
	dest := filepath.Join(s.dir, "www")
	s.writeConfig(`[plain]
remote = %[1]s
rsync.destination = %[2]s/plain

[delete]
remote = %[1]s
rsync.destination = %[2]s/delete
rsync.delete = True
rsync.checksum = True

[include]
remote = %[1]s
rsync.destination = %[2]s/include
rsync.include = include.txt
`, repo.Remote, dest)
	// Files already at the destination: kept without delete, removed with it.
	for _, p := range []string{"plain", "delete"} {
		os.MkdirAll(filepath.Join(dest, p), 0o755)
		os.WriteFile(filepath.Join(dest, p, "stale.html"), []byte("old"), 0o644)
	}
	for _, p := range []string{"plain", "delete", "include"} {
		if res := s.build(p, "main"); res.code != 0 {
			t.Fatalf("%s: exit %d\n%s", p, res.code, res.stderr)
		}
	}
	exists := func(p string) bool { _, err := os.Stat(filepath.Join(dest, p)); return err == nil }
	checks := []struct {
		path string
		want bool
	}{
		{"plain/index.html", true}, {"plain/docs/a.txt", true}, {"plain/notes.tmp", true},
		{"plain/.git", false}, {"plain/stale.html", true},
		{"delete/index.html", true}, {"delete/stale.html", false},
		{"include/index.html", true}, {"include/docs/a.txt", true}, {"include/notes.tmp", false},
	}
	for _, c := range checks {
		if exists(c.path) != c.want {
			t.Errorf("%s exists = %v, want %v", c.path, !c.want, c.want)
		}
	}
	if log := readFile(t, filepath.Join(s.onlyBuild("delete"), "build.log")); !strings.Contains(log,
		"$ rsync --verbose --recursive --links --exclude .git --checksum --delete-after --delete-excluded -- ") {
		t.Errorf("the rsync command line is not the one of SPEC §7.1:\n%s", log)
	}
}

// TestBuildLogGrowsWhileAStepRuns reads build.log while a step is still running: output is
// there as it comes, not when the step ends.
func TestBuildLogGrowsWhileAStepRuns(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	release := filepath.Join(s.dir, "release")
	step := s.file("step.sh", "#!/bin/sh\necho first line of a long step\nwhile [ ! -e "+release+" ]; do sleep 0.05; done\necho last line\n", 0o755)
	s.writeConfig("[p]\nremote = %s\nprepare_callback = %s\n", repo.Remote, step)
	p := startProcess(t, bin.build, "--config", s.config, "--workdir", s.workdir, "p", "main")
	testenv.Eventually(t, time.Minute, "the step's first line never reached build.log while it ran", func() bool {
		logs, _ := filepath.Glob(filepath.Join(s.workdir, "p", "*", "*.tmp", "build.log"))
		if len(logs) != 1 {
			return false
		}
		data, _ := os.ReadFile(logs[0])
		return strings.Contains(string(data), "first line of a long step\n")
	})
	st := status(t, s.onlyBuild("p"))
	if st.Result != "running" || st.Steps[len(st.Steps)-1].Step != "checkout" {
		t.Errorf("while the step runs, build.json says %s after %q", st.Result, st.Steps[len(st.Steps)-1].Step)
	}
	os.WriteFile(release, nil, 0o644)
	if code := p.wait(t, time.Minute); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.stderr())
	}
	if log := readFile(t, filepath.Join(s.onlyBuild("p"), "build.log")); !strings.Contains(log, "last line\n==> exit 0") {
		t.Errorf("build.log:\n%s", log)
	}
}
