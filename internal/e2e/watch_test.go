package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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

func TestWatchCopesWithAHangingRemote(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	hanging := "git://" + testenv.HangingServer(t) + "/stuck.git"
	daemonURL := testenv.GitDaemon(t, filepath.Dir(repo.Remote)) + filepath.Base(repo.Remote)
	s.writeConfig("[stuck]\nremote = %s\nbranches = main\n\n[ok-path]\nremote = %s\nbranches = main\n\n[ok-daemon]\nremote = %s\nbranches = main\n",
		hanging, repo.Remote, daemonURL)
	start := time.Now()
	res := s.watchOnce("--timeout", "3")
	took := time.Since(start)
	if res.code != 1 { // a remote failed: cron mails the report
		t.Fatalf("exit %d, want 1\n%s", res.code, res.stderr)
	}
	equalJobs(t, "healthy remotes", s.queued(), []string{"ok-path refs/heads/main " + repo.Head(), "ok-daemon refs/heads/main " + repo.Head()})
	if !strings.Contains(res.stderr, "cannot list the remote") || !strings.Contains(res.stderr, "stuck.git") {
		t.Errorf("the hanging remote was not reported:\n%s", res.stderr)
	}
	if !strings.Contains(res.stdout, "[stuck] "+hanging+": failed\n  error    ") ||
		!strings.Contains(res.stdout, "[ok-path] "+repo.Remote+": 1 ref, 1 match\n  queued   refs/heads/main ") {
		t.Errorf("the report:\n%s", res.stdout)
	}
	// The hanging remote takes its 3 s timeout, the healthy ones a fraction of a second at
	// the same time; 10 s more are for two busy cores. A pass that waited on the hanging
	// remote without its timeout would never end.
	if took > 3*time.Second+10*time.Second {
		t.Errorf("the pass took %v with a 3 s timeout", took)
	}
	testenv.NoProcessMentions(t, "stuck.git")
}

func TestWatchLogsAFailingRemoteOncePerChange(t *testing.T) {
	s := newSite(t)
	missing := filepath.Join(s.dir, "missing.git")
	s.writeConfig("[gone]\nremote = %s\nbranches = main\n", missing)
	calls, path := countingGit(t, s)
	s.makeWorkdir()
	p := startProcessEnv(t, []string{path}, bin.watch, "--config", s.config, "--workdir", s.workdir, "--interval", "1")
	testenv.Eventually(t, 60*time.Second, "fewer than four passes", func() bool { return calls() >= 4 })
	if n := strings.Count(p.stderr(), "cannot list the remote"); n != 1 {
		t.Errorf("the same error was logged %d times over several passes:\n%s", n, p.stderr())
	}
	// It recovers: the repository appears at that path.
	repo := testenv.NewRepo(t, nil)
	os.Rename(repo.Remote, missing)
	testenv.Eventually(t, 30*time.Second, "the recovered remote was not enqueued", func() bool { return len(s.queued()) == 1 })
	if !eventuallyLogged(p, func() bool { return strings.Contains(p.stderr(), "remote answers again") }) {
		t.Errorf("the recovery was not logged:\n%s", p.stderr())
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(t, 10*time.Second); code != 143 {
		t.Errorf("exit %d after SIGTERM, want 143", code)
	}
}

// countingGit puts a git on PATH that records each of its calls and runs the real one; it
// returns a counter of the ls-remote calls and the PATH setting to use.
func countingGit(t *testing.T, s *site) (calls func() int, pathEnv string) {
	realGit, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(s.dir, "git-calls.log")
	wrapper := s.file("bin/git", fmt.Sprintf("#!/bin/sh\necho \"$@\" >> %s\nexec %s \"$@\"\n", log, realGit), 0o755)
	calls = func() int {
		data, _ := os.ReadFile(log)
		return strings.Count(string(data), "ls-remote")
	}
	return calls, "PATH=" + filepath.Dir(wrapper) + ":" + os.Getenv("PATH")
}

// TestWatchPollsManyRemotesWithinItsBound counts, with a git that logs when each call
// starts and ends, how many ls-remote processes ran at once: never more than the bound, and
// the bound itself at the start. Whether calls overlap must not depend on how fast a busy
// machine runs them: the first calls wait (polling, for at most 60 s) until the bound is
// in flight, which a watcher running fewer at once never reaches.
func TestWatchPollsManyRemotesWithinItsBound(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	realGit, _ := exec.LookPath("git")
	calls := filepath.Join(s.dir, "calls.log")
	const remotes, bound = 200, 6
	wrapper := s.file("bin/git", fmt.Sprintf(`#!/bin/sh
echo start >> %[1]s
if [ "$(grep -c start %[1]s)" -le %[2]d ]; then
	i=0
	while [ "$(grep -c start %[1]s)" -lt %[2]d ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
fi
%[3]s "$@"
rc=$?
echo end >> %[1]s
exit $rc
`, calls, bound, realGit), 0o755)
	var config strings.Builder
	for i := 0; i < remotes; i++ {
		// Distinct URLs for one repository: each is a remote of its own.
		link := filepath.Join(s.dir, "remotes", fmt.Sprintf("r%03d.git", i))
		os.MkdirAll(filepath.Dir(link), 0o755)
		os.Symlink(repo.Remote, link)
		fmt.Fprintf(&config, "[p%03d]\nremote = %s\nbranches = main\n\n", i, link)
	}
	s.writeConfig("%s", config.String())
	// A --timeout far beyond the wait above: on a busy machine no call may be cut short,
	// which would leave a start without its end.
	s.makeWorkdir()
	res := run(t, []string{"PATH=" + filepath.Dir(wrapper) + ":" + os.Getenv("PATH")}, bin.watch,
		"--config", s.config, "--workdir", s.workdir, "--once", "--concurrency", strconv.Itoa(bound), "--timeout", "300")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if n := len(s.queued()); n != remotes {
		t.Errorf("%d jobs enqueued, want %d", n, remotes)
	}
	inFlight, peak, starts := 0, 0, 0
	for _, line := range strings.Fields(readFile(t, calls)) {
		if line == "start" {
			inFlight++
			starts++
		} else {
			inFlight--
		}
		peak = max(peak, inFlight)
	}
	if starts != remotes {
		t.Errorf("%d git calls for %d remotes", starts, remotes)
	}
	if peak != bound {
		t.Errorf("up to %d ls-remote ran at once, want exactly the bound, %d", peak, bound)
	}
}

func TestWatchSharedRemoteIsAskedOnce(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	calls, path := countingGit(t, s)
	s.writeConfig("[a]\nremote = %[1]s\nbranches = main\n\n[b]\nremote = %[1]s\nbranches = main\n", repo.Remote)
	s.makeWorkdir()
	run(t, []string{path}, bin.watch, "--config", s.config, "--workdir", s.workdir, "--once")
	if n := calls(); n != 1 {
		t.Errorf("the shared remote was asked %d times", n)
	}
	if n := len(s.queued()); n != 2 {
		t.Errorf("%d jobs, want one per project", n)
	}
}

func TestWatchReloadsOnSIGHUPAndStopsAtOnceOnSIGTERM(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	repo.Branch("dev")
	repo.Push("dev")
	s.writeConfig("[p]\nremote = %s\nbranches = main\n", repo.Remote)
	s.makeWorkdir()
	p := startProcess(t, bin.watch, "--config", s.config, "--workdir", s.workdir, "--interval", "3600")
	testenv.Eventually(t, 30*time.Second, "the first pass did not enqueue main", func() bool { return len(s.queued()) == 1 })

	// A broken file is refused, the old configuration stays.
	s.writeConfig("[p]\nremote = %s\nbranches = (?!x)\n", repo.Remote)
	p.signal(syscall.SIGHUP)
	testenv.Eventually(t, 30*time.Second, "the broken file was not reported", func() bool {
		return strings.Contains(p.stderr(), "configuration not reloaded")
	})
	s.writeConfig("[p]\nremote = %s\nbranches = main|dev\n", repo.Remote)
	p.signal(syscall.SIGHUP)
	testenv.Eventually(t, 30*time.Second, "after SIGHUP the new regex did not enqueue dev", func() bool { return len(s.queued()) == 2 })

	// SIGTERM while an ls-remote hangs: exit at once, no git left.
	hanging := "git://" + testenv.HangingServer(t) + "/stuck.git"
	s.writeConfig("[stuck]\nremote = %s\nbranches = main\n", hanging)
	p.signal(syscall.SIGHUP)
	testenv.Eventually(t, 30*time.Second, "no ls-remote of the hanging remote", func() bool {
		return len(testenv.ProcessesMentioning("stuck.git")) > 0
	})
	sent := time.Now()
	p.signal(syscall.SIGTERM)
	if code := p.wait(t, 15*time.Second); code != 143 {
		t.Errorf("exit %d, want 143", code)
	}
	// SPEC §6: on SIGTERM the watcher exits at once, hung ls-remote or not; 3 s is for two
	// busy cores, far below the 30 s poll timeout a watcher waiting for it would take.
	if took := time.Since(sent); took > 3*time.Second {
		t.Errorf("exiting took %v after SIGTERM", took)
	}
	testenv.Eventually(t, 5*time.Second, "git ls-remote outlived the watcher", func() bool {
		return len(testenv.ProcessesMentioning("stuck.git")) == 0
	})
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
