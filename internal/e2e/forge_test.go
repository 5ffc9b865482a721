package e2e

// Reporting to the forge (issue 20), end to end: the real binaries against a real Gitea that
// each test starts on 127.0.0.1 (testenv.StartGitea), statuses read back through its API.

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/outcome"
	"pipelined/internal/testenv"
	"pipelined/internal/workdir"
)

// forgeSite is a site whose project "app" watches a repository of a Gitea of its own and
// reports to it; gate is a file the project's prepare step waits for, so that a test sees
// the build running. extra is added to the project's section.
func forgeSite(t *testing.T, branches, extra string) (s *site, g *testenv.Gitea, repo *testenv.Repo, gate string) {
	t.Helper()
	s = newSite(t)
	g = testenv.StartGitea(t)
	repo = g.Repo("app")
	gate = filepath.Join(s.dir, "gate")
	token := s.file("gitea.token", g.Token+"\n", 0o600)
	s.writeConfig(`[app]
remote = %s
branches = %s
forge = gitea
forge.token_file = %s
forge.target_url = https://ci.example.org/${BUILD_PROJECT}/${BUILD_SHORT_COMMIT}
prepare_callback = /bin/sh -c 'while [ ! -e %s ]; do sleep 0.05; done; if [ -e fail ]; then exit 3; fi'
%s`, repo.Remote, branches, token, gate, extra)
	return s, g, repo, gate
}

// latest returns the newest status of a commit in context pipelined/app, or a zero one.
func latest(g *testenv.Gitea, commit string) testenv.CommitStatus {
	for _, st := range g.Statuses("app", commit) {
		if st.Context == "pipelined/app" {
			return st
		}
	}
	return testenv.CommitStatus{}
}

// waitStatus waits until the commit's newest status is state.
func waitStatus(t *testing.T, g *testenv.Gitea, commit, state string, timeout time.Duration) testenv.CommitStatus {
	t.Helper()
	var st testenv.CommitStatus
	testenv.Eventually(t, timeout, "the forge did not show "+state+" on "+commit[:8], func() bool {
		st = latest(g, commit)
		return st.Status == state
	})
	return st
}

func TestForgeShowsPendingThenTheResult(t *testing.T) {
	s, g, repo, _ := forgeSite(t, "main", "")
	// The token file next to the configuration, named relative to it: the daemon's builds
	// and deliveries read a snapshot of the file elsewhere, and find it all the same.
	s.writeConfig("%s", strings.Replace(readFile(t, s.config), "forge.token_file = "+filepath.Join(s.dir, "gitea.token"), "forge.token_file = gitea.token", 1))
	s.daemon("--interval", "1")
	head := repo.Head()
	st := waitStatus(t, g, head, "pending", time.Minute)
	if !strings.HasPrefix(st.Description, "building on ") || st.TargetURL != "https://ci.example.org/app/"+head[:8] {
		t.Errorf("pending status: %+v", st)
	}
	s.file("gate", "", 0o644)
	st = waitStatus(t, g, head, "success", time.Minute)
	if !strings.HasPrefix(st.Description, "succeeded in ") {
		t.Errorf("success status: %+v", st)
	}
	if all := g.Statuses("app", head); len(all) != 2 || all[1].Status != "pending" {
		t.Errorf("want pending, then success: %+v", all)
	}

	broken := repo.Commit("break it", map[string]string{"fail": "1"})
	repo.Push("main")
	st = waitStatus(t, g, broken, "failure", time.Minute)
	if st.Description != "prepare failed (exit 3)" {
		t.Errorf("the failure does not name the step and its exit status: %+v", st)
	}
}

func TestForgeStatusOutlivesAnOutageAndARestart(t *testing.T) {
	s, g, repo, _ := forgeSite(t, "main", "")
	p := s.daemon("--interval", "1")
	head := repo.Head()
	waitStatus(t, g, head, "pending", time.Minute)
	g.Stop() // the forge goes down during the build
	s.file("gate", "", 0o644)
	testenv.Eventually(t, time.Minute, "the build did not succeed", func() bool {
		for _, st := range s.finished() {
			if st.Commit == head && st.Result == outcome.Success {
				return true
			}
		}
		return false
	})
	// build.json says success a moment before the build queues its status.
	var res result
	testenv.Eventually(t, time.Minute, "status does not show the status waiting", func() bool {
		res = run(t, nil, bin.pipelined, "status", "--workdir", s.workdir)
		return strings.Contains(res.stdout, "FORGE STATUSES WAITING (1)") && strings.Contains(res.stdout, "succeeded")
	})
	waitFor(t, p, time.Minute, "the daemon did not say the forge is down", func() bool {
		return logCount(p, "cannot deliver statuses to the forge") > 0
	})
	p.signal(syscall.SIGTERM)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("pipelined exited %d\n%s", code, p.stderr())
	}
	g.Start()
	p2 := s.daemon("--interval", "1")
	st := waitStatus(t, g, head, "success", time.Minute)
	if !strings.HasPrefix(st.Description, "succeeded in ") {
		t.Errorf("after the outage: %+v", st)
	}
	waitFor(t, p2, time.Minute, "the delivery was not logged", func() bool {
		return logCount(p2, "forge status delivered", "state=succeeded") == 1
	})
}

// TestForgeShowsTheDaemonsRetries: a build whose process dies is an infrastructure error;
// the daemon shows the retry on the forge, and the next attempt's result.
func TestForgeShowsTheDaemonsRetries(t *testing.T) {
	s, g, repo, _ := forgeSite(t, "main", "")
	s.daemon("--interval", "1")
	head := repo.Head()
	waitStatus(t, g, head, "pending", time.Minute)
	pid := findPid(bin.build, s.workdir)
	if pid == 0 {
		t.Fatal("no pipeline-build is running")
	}
	syscall.Kill(pid, syscall.SIGKILL)
	testenv.Eventually(t, time.Minute, "the forge did not show the retry", func() bool {
		st := latest(g, head)
		return st.Status == "pending" && strings.HasPrefix(st.Description, "retry 1 of 5: ")
	})
	s.file("gate", "", 0o644)
	waitStatus(t, g, head, "success", 2*time.Minute)
}

func TestForgePullRequestsAreBuiltOncePerHeadAndClosedOnesNever(t *testing.T) {
	s, g, repo, _ := forgeSite(t, "main", `pull_requests = True
env = SECRET_X=hush
success_callback = /bin/sh -c 'env > "$BUILD_RUN_PATH/env.txt"'
`)
	// The token from the daemon's environment this time: no build may see it.
	s.writeConfig("%s", strings.Replace(readFile(t, s.config), "forge.token_file = "+filepath.Join(s.dir, "gitea.token"), "forge.token_env = PIPELINED_TEST_GITEA_TOKEN", 1))
	s.file("gate", "", 0o644)
	repo.Branch("old")
	old := repo.Commit("old", map[string]string{"old": "1"})
	repo.Push("old")
	closed := g.CreatePull("app", "old", "main")
	g.ClosePull("app", closed)
	repo.Branch("feature")
	first := repo.Commit("first", map[string]string{"a": "1"})
	repo.Push("feature")
	n := g.CreatePull("app", "feature", "main")

	env := []string{"PIPELINED_TEST_GITEA_TOKEN=" + g.Token}
	p := startProcessEnv(t, env, bin.pipelined, "--config", s.config, "--workdir", s.workdir, "--interval", "1")
	waitStatus(t, g, first, "success", 2*time.Minute)
	second := repo.Commit("second", map[string]string{"a": "2"})
	repo.Push("feature")
	waitStatus(t, g, second, "success", 2*time.Minute)
	p.signal(syscall.SIGTERM)
	p.wait(t, 30*time.Second)

	// One more pass finds nothing new to build: each head was built once.
	res := run(t, env, bin.watch, "--config", s.config, "--workdir", s.workdir, "--once")
	if queued, _ := filepath.Glob(filepath.Join(s.workdir, ".pipelined", "spool", "new", "*")); res.code != 0 || len(queued) != 0 {
		t.Errorf("pipeline-watch --once: exit %d, queued %v\n%s%s", res.code, queued, res.stdout, res.stderr)
	}
	ref := "refs/pull/" + strconv.Itoa(n) + "/head"
	dirs := s.buildDirs("app", workdir.EncodeRef(ref))
	if len(dirs) != 2 {
		t.Fatalf("%s has %d builds, want one per head: %v", ref, len(dirs), dirs)
	}
	if dirs, _ := filepath.Glob(filepath.Join(s.workdir, "app", workdir.EncodeRef("refs/pull/"+strconv.Itoa(closed)+"/head"))); len(dirs) != 0 || len(g.Statuses("app", old)) != 0 {
		t.Errorf("the closed request was built: %v", dirs)
	}
	vars := envFile(t, filepath.Join(s.workdir, "app", workdir.EncodeRef(ref), second[:8], "env.txt"))
	if vars["BUILD_PULL_REQUEST"] != strconv.Itoa(n) || vars["BUILD_REF"] != ref || vars["SECRET_X"] != "" || vars["BUILD_BRANCH"] != "" {
		t.Errorf("a pull request's build environment: BUILD_PULL_REQUEST=%q BUILD_REF=%q SECRET_X=%q BUILD_BRANCH=%q",
			vars["BUILD_PULL_REQUEST"], vars["BUILD_REF"], vars["SECRET_X"], vars["BUILD_BRANCH"])
	}
	for _, d := range append(dirs, p.stderr()) {
		for _, f := range []string{"env.txt", "build.log", "build.json"} {
			if data, _ := os.ReadFile(filepath.Join(d, f)); strings.Contains(string(data), g.Token) {
				t.Errorf("%s/%s holds the forge token", d, f)
			}
		}
	}
	if strings.Contains(p.stderr(), g.Token) {
		t.Error("the daemon's log holds the forge token")
	}
}

func TestPipelineBuildByHandReportsItself(t *testing.T) {
	s, g, repo, _ := forgeSite(t, "main", "")
	s.file("gate", "", 0o644)
	res := s.build("app", "main")
	if res.code != 0 {
		t.Fatalf("pipeline-build: exit %d\n%s", res.code, res.stderr)
	}
	// Delivered before pipeline-build exited: no daemon runs.
	if st := latest(g, repo.Head()); st.Status != "success" {
		t.Errorf("after pipeline-build by hand: %+v\n%s", st, res.stderr)
	}
	if all := g.Statuses("app", repo.Head()); len(all) != 2 {
		t.Errorf("want pending and success: %+v", all)
	}
	// Without commit_url, the pages link the commit's page on the forge: a page it serves.
	link := status(t, s.onlyBuild("app")).CommitURL
	if want := g.URL + "/" + g.User + "/app/commit/" + repo.Head(); link != want {
		t.Fatalf("commit_url %q, want %q", link, want)
	}
	req, _ := http.NewRequest(http.MethodGet, link, nil)
	req.SetBasicAuth(g.User, g.Password)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %v %v", link, resp, err)
	} else {
		resp.Body.Close()
	}
}

// TestAStatusThatCannotBeQueuedFailsNoBuild: with the outbox's disk full, the build
// succeeds all the same, and says that the forge will not show it.
func TestAStatusThatCannotBeQueuedFailsNoBuild(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	token := s.file("token", "t0k3n\n", 0o600)
	s.writeConfig("[app]\nremote = %s\nforge = gitea\nforge.url = http://127.0.0.1:1\nforge.repo = o/app\nforge.token_file = %s\n", repo.Remote, token)
	outbox := filepath.Join(s.workdir, ".pipelined", "outbox")
	testenv.MountTmpfs(t, outbox, "64k")
	fill(t, outbox)
	res := s.build("app", "main")
	if res.code != 0 || !strings.Contains(res.stderr, "warning: queueing the started status") {
		t.Fatalf("pipeline-build: exit %d\n%s", res.code, res.stderr)
	}
	dir := s.onlyBuild("app")
	if st := status(t, dir); st.Result != outcome.Success {
		t.Errorf("result %s", st.Result)
	}
	if !strings.Contains(readFile(t, filepath.Join(dir, "build.log")), "the forge will not show this") {
		t.Error("build.log does not say the status was not queued")
	}
}

// TestABuildByHandBesideADaemonIsReported: pipeline-build run by hand leaves its statuses to
// the daemon of its work directory, which delivers them though none of its own builds ran:
// it looks at the outbox at each rescan.
func TestABuildByHandBesideADaemonIsReported(t *testing.T) {
	s, g, repo, _ := forgeSite(t, "none", "")
	s.file("gate", "", 0o644)
	s.daemon("--interval", "0", "--rescan", "1")
	// The daemon's first delivery, of what the last one left, has ended.
	testenv.Eventually(t, time.Minute, "the daemon's first delivery did not end", func() bool {
		return deliveryPid(s.workdir) == 0
	})
	if res := s.build("app", "main"); res.code != 0 {
		t.Fatalf("pipeline-build: exit %d\n%s", res.code, res.stderr)
	}
	waitStatus(t, g, repo.Head(), "success", time.Minute)
}

// deliveryPid is the pid of a pipeline-build --deliver on workdir, 0 for none.
func deliveryPid(workdir string) int {
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		data, _ := os.ReadFile(p)
		if line := strings.ReplaceAll(string(data), "\x00", " "); strings.Contains(line, " --deliver ") && strings.Contains(line, workdir) {
			pid, _ := strconv.Atoi(strings.Split(p, "/")[2])
			return pid
		}
	}
	return 0
}

// TestWithoutAForgeNothingIsReported: a configuration without forge builds as before: no
// outbox, no list of pull requests, no delivery run, nothing of the forge in the log.
func TestWithoutAForgeNothingIsReported(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[app]\nremote = %s\nbranches = main\n", repo.Remote)
	p := s.daemon("--interval", "1", "--rescan", "1")
	testenv.Eventually(t, time.Minute, "the push was not built", func() bool {
		for _, st := range s.finished() {
			if st.Commit == repo.Head() && st.Result == outcome.Success {
				return true
			}
		}
		return false
	})
	p.signal(syscall.SIGTERM)
	p.wait(t, 30*time.Second)
	for _, dir := range []string{"outbox", "pulls"} {
		if _, err := os.Lstat(filepath.Join(s.workdir, ".pipelined", dir)); err == nil {
			t.Errorf(".pipelined/%s was made", dir)
		}
	}
	if log := p.stderr(); strings.Contains(log, "forge=") || strings.Contains(log, "forge status") || strings.Contains(log, "--deliver") {
		t.Errorf("the log speaks of the forge:\n%s", p.stderr())
	}
}
