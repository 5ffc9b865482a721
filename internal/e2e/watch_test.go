package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"pipelined/internal/spool"
	"pipelined/internal/testenv"
	"pipelined/internal/workdir"
)

// watchOnce runs one pass of pipeline-watch.
func (s *site) watchOnce(args ...string) result {
	s.t.Helper()
	s.makeWorkdir()
	return run(s.t, nil, bin.watch, append([]string{"--config", s.config, "--workdir", s.workdir, "--once"}, args...)...)
}

// queued returns the jobs in spool/new as "project ref commit" lines, sorted.
func (s *site) queued() []string {
	s.t.Helper()
	return s.jobsIn(spool.New)
}

func (s *site) jobsIn(sub string) []string {
	s.t.Helper()
	sp, err := spool.Open(workdir.Layout{Root: s.workdir}.SpoolDir())
	if err != nil {
		s.t.Fatal(err)
	}
	entries, _ := sp.List(sub)
	var jobs []string
	for _, e := range entries {
		j, err := sp.Read(sub, e.Name)
		if err != nil {
			s.t.Fatalf("job %s: %v", e.Name, err)
		}
		jobs = append(jobs, fmt.Sprintf("%s %s %s", j.Project, j.Ref, j.Commit))
	}
	sort.Strings(jobs)
	return jobs
}

// clearQueue removes the queued jobs, as if they had been claimed and built without
// leaving a build directory.
func (s *site) clearQueue() {
	files, _ := filepath.Glob(filepath.Join(s.workdir, ".pipelined", "spool", "new", "*"))
	for _, f := range files {
		os.Remove(f)
	}
}

func equalJobs(t *testing.T, what string, got, want []string) {
	t.Helper()
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: queued\n  %s\nwant\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestWatchEnqueuesEachNewRefOnce(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	main1 := repo.Head()
	repo.Branch("main2")
	repo.Push("main2")
	repo.Branch("release-1")
	rel := repo.Commit("release", nil)
	repo.Push("release-1")
	repo.Tag("v1.0")
	repo.Tag("nightly")
	daemonURL := testenv.GitDaemon(t, filepath.Dir(repo.Remote)) + filepath.Base(repo.Remote)
	s.writeConfig(`[by-path]
remote = %s
branches = main|release-.*
tags = v.*

[by-daemon]
remote = %s
branches = main
`, repo.Remote, daemonURL)

	// First pass: every matching ref; main2 and nightly do not match in full.
	if res := s.watchOnce(); res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	tagObject := testenv.Git(t, repo.Remote, "rev-parse", "refs/tags/v1.0")
	equalJobs(t, "first pass", s.queued(), []string{
		"by-path refs/heads/main " + main1, "by-path refs/heads/release-1 " + rel,
		"by-path refs/tags/v1.0 " + tagObject, "by-daemon refs/heads/main " + main1})

	// Second pass: the same jobs are queued, nothing new.
	s.watchOnce()
	if n := len(s.queued()); n != 4 {
		t.Errorf("second pass: %d jobs queued, want the same 4", n)
	}

	// A job claimed (in cur/) is not enqueued again either.
	cur := filepath.Join(s.workdir, ".pipelined", "spool", "cur")
	news, _ := filepath.Glob(filepath.Join(s.workdir, ".pipelined", "spool", "new", "*"))
	for _, f := range news {
		os.Rename(f, filepath.Join(cur, filepath.Base(f)))
	}
	s.watchOnce()
	if q := s.queued(); len(q) != 0 {
		t.Errorf("jobs in cur/ were enqueued again: %v", q)
	}
	files, _ := filepath.Glob(filepath.Join(cur, "*"))
	for _, f := range files {
		os.Remove(f)
	}

	// A build directory, finished or not, means built.
	layout := workdir.Layout{Root: s.workdir}
	os.MkdirAll(filepath.Join(layout.RefDir("by-path", "refs/heads/main"), main1[:8]), 0o755)
	os.MkdirAll(filepath.Join(layout.RefDir("by-path", "refs/heads/release-1"), rel[:8]+".tmp"), 0o755)
	s.watchOnce()
	equalJobs(t, "with build directories", s.queued(), []string{
		"by-path refs/tags/v1.0 " + tagObject, "by-daemon refs/heads/main " + main1})
	s.clearQueue()
	os.MkdirAll(filepath.Join(layout.RefDir("by-path", "refs/tags/v1.0"), tagObject[:8]), 0o755)
	os.MkdirAll(filepath.Join(layout.RefDir("by-daemon", "refs/heads/main"), main1[:8]), 0o755)

	// A new commit, a new branch, a new tag: one job each.
	repo.Branch("main")
	main2 := repo.Commit("next", nil)
	repo.Push("main")
	repo.Branch("release-2")
	repo.Push("release-2")
	repo.Tag("v2.0")
	s.watchOnce()
	tag2 := testenv.Git(t, repo.Remote, "rev-parse", "refs/tags/v2.0")
	equalJobs(t, "after pushes", s.queued(), []string{
		"by-path refs/heads/main " + main2, "by-daemon refs/heads/main " + main2,
		"by-path refs/heads/release-2 " + main2, "by-path refs/tags/v2.0 " + tag2})
	s.clearQueue()
	for _, p := range []string{"by-path", "by-daemon"} {
		os.MkdirAll(filepath.Join(layout.RefDir(p, "refs/heads/main"), main2[:8]), 0o755)
	}
	os.MkdirAll(filepath.Join(layout.RefDir("by-path", "refs/heads/release-2"), main2[:8]), 0o755)
	os.MkdirAll(filepath.Join(layout.RefDir("by-path", "refs/tags/v2.0"), tag2[:8]), 0o755)

	// A branch deleted and re-created at a new commit: one job.
	repo.DeleteRef("refs/heads/release-1")
	s.watchOnce()
	if q := s.queued(); len(q) != 0 {
		t.Errorf("after deleting a branch: %v", q)
	}
	repo.Branch("release-1")
	again := repo.Commit("recreated", nil)
	repo.Push("release-1")
	s.watchOnce()
	equalJobs(t, "re-created branch", s.queued(), []string{"by-path refs/heads/release-1 " + again})
}

// TestWatchOnceReport: what pipeline-watch --once prints, its exit status, and --quiet.
func TestWatchOnceReport(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	repo.Tag("v1.0")
	secretRemote := "https://deploy:hunter2@127.0.0.1:1/private.git"
	s.writeConfig(`[app]
remote = %s
branches = main
tags = v.*
tag = v.*

[private]
remote = %s
branches = main
`, repo.Remote, secretRemote)
	res := s.watchOnce()
	if res.code != 1 {
		t.Errorf("exit %d with a failing remote, want 1\n%s", res.code, res.stderr)
	}
	short := repo.Head()[:8]
	tagObject := testenv.Git(t, repo.Remote, "rev-parse", "refs/tags/v1.0")
	for _, want := range []string{
		s.config + `:5: [app] tag: "v.*" looks like a regex`, // the configuration's warning
		"[app] " + repo.Remote + ": 2 refs, 2 match\n",
		"  queued   refs/heads/main " + short + ": job ",
		"  queued   refs/tags/v1.0 " + tagObject[:8] + ": job ",
		"[private] https://deploy:***@127.0.0.1:1/private.git: failed\n  error    git ls-remote https://deploy:***@127.0.0.1:1/private.git: ",
		"total: 2 queued, 0 skipped, 0 not written; 2 remotes asked, 1 failed\n",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("the report lacks %q:\n%s", want, res.stdout)
		}
	}
	if strings.Contains(res.stdout+res.stderr, "hunter2") {
		t.Errorf("the password was printed:\n%s\n%s", res.stdout, res.stderr)
	}
	// stderr has the error, and nothing else: no info lines, no warnings.
	if !strings.Contains(res.stderr, "level=ERROR") || strings.Contains(res.stderr, "level=INFO") || strings.Contains(res.stderr, "level=WARN") {
		t.Errorf("stderr:\n%s", res.stderr)
	}
	// The jobs it names are the jobs in the spool.
	for _, name := range regexp.MustCompile(`job (\S+\.job)`).FindAllStringSubmatch(res.stdout, -1) {
		if _, err := os.Stat(filepath.Join(s.workdir, ".pipelined", "spool", "new", name[1])); err != nil {
			t.Errorf("the report names job %s, which is not queued: %v", name[1], err)
		}
	}

	// A second pass: skipped, as queued. --quiet: nothing on stdout, the same exit status.
	res = s.watchOnce("--quiet")
	if res.code != 1 || res.stdout != "" || !strings.Contains(res.stderr, "cannot list the remote") || strings.Contains(res.stderr, "hunter2") {
		t.Errorf("--quiet: exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	res = s.watchOnce("--project", "app")
	if res.code != 0 || !strings.Contains(res.stdout, "  skipped  refs/heads/main "+short+": already queued as job ") ||
		strings.Contains(res.stdout, "[private]") || !strings.HasSuffix(res.stdout, "total: 0 queued, 2 skipped, 0 not written; 1 remote asked, 0 failed\n") {
		t.Errorf("--project app: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if res.stderr != "" {
		t.Errorf("stderr of a pass without errors:\n%s", res.stderr)
	}
	res = s.watchOnce("--project", "app", "--quiet")
	if res.code != 0 || res.stdout != "" || res.stderr != "" {
		t.Errorf("--quiet, nothing wrong: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	// --quiet belongs to --once.
	s.makeWorkdir()
	res = run(t, nil, bin.watch, "--config", s.config, "--workdir", s.workdir, "--quiet")
	if res.code != 2 || !strings.Contains(res.stderr, "--quiet goes with --once") {
		t.Errorf("--quiet without --once: exit %d\n%s", res.code, res.stderr)
	}
}
