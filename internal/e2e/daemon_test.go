package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/outcome"
	"pipelined/internal/spool"
	"pipelined/internal/testenv"
	"pipelined/internal/workdir"
)

// daemon starts pipelined and waits until it has started.
func (s *site) daemon(args ...string) *process {
	s.t.Helper()
	p := startProcess(s.t, bin.pipelined, append([]string{"--config", s.config, "--workdir", s.workdir}, args...)...)
	testenv.Eventually(s.t, 30*time.Second, "pipelined did not start", func() bool {
		return strings.Contains(p.stderr(), "msg=started") || p.exited()
	})
	if p.exited() {
		s.t.Fatalf("pipelined exited at start:\n%s", p.stderr())
	}
	return p
}

// makeWorkdir makes the work directory, as the daemon's or pipeline-build's first run
// would, for the commands that only use one (enqueue, pipeline-watch).
func (s *site) makeWorkdir() { os.MkdirAll(filepath.Join(s.workdir, ".pipelined"), 0o755) }

// enqueue writes a job through pipelined enqueue, in a work directory made if need be.
func (s *site) enqueue(args ...string) {
	s.t.Helper()
	s.makeWorkdir()
	res := run(s.t, nil, bin.pipelined, append([]string{"enqueue", "--config", s.config, "--workdir", s.workdir}, args...)...)
	if res.code != 0 {
		s.t.Fatalf("pipelined enqueue %v: exit %d\n%s", args, res.code, res.stderr)
	}
}

// finished returns the statuses of all finished builds in the work directory.
func (s *site) finished() []*buildlog.Status {
	var out []*buildlog.Status
	builds, _ := workdir.Layout{Root: s.workdir}.Builds()
	for _, b := range builds {
		// build.json says success (and names the final directory) a moment before the
		// directory loses its .tmp: such a build is not quite finished.
		if st, err := buildlog.LoadStatus(filepath.Join(b.Dir, "build.json")); err == nil && st.Result != outcome.Running && exists(st.Path) {
			out = append(out, st)
		}
	}
	return out
}

func (s *site) running() int {
	n := 0
	builds, _ := workdir.Layout{Root: s.workdir}.Builds()
	for _, b := range builds {
		if st, err := buildlog.LoadStatus(filepath.Join(b.Dir, "build.json")); err == nil && st.Result == outcome.Running {
			n++
		}
	}
	return n
}

// dropJob delivers a job file by hand, the way a webhook script would.
func (s *site) dropJob(name, content string) {
	s.t.Helper()
	dir := filepath.Join(s.workdir, ".pipelined", "spool")
	tmp := filepath.Join(dir, "tmp", name)
	os.MkdirAll(filepath.Dir(tmp), 0o755)
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		s.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "new", name)); err != nil {
		s.t.Fatal(err)
	}
}

// maxOverlap is the largest number of builds whose [started, finished] intervals overlap.
func maxOverlap(builds []*buildlog.Status) int {
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, b := range builds {
		edges = append(edges, edge{b.Started, 1}, edge{b.Finished, -1})
	}
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].at.Equal(edges[j].at) {
			return edges[i].delta < edges[j].delta
		}
		return edges[i].at.Before(edges[j].at)
	})
	n, peak := 0, 0
	for _, e := range edges {
		n += e.delta
		peak = max(peak, n)
	}
	return peak
}

// queueSleepyBuilds configures n projects whose builds sleep for seconds in their
// prepare step, and queues a build of each (the daemon is not running yet).
func queueSleepyBuilds(s *site, repo *testenv.Repo, n int, seconds string) {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "[p%d]\nremote = %s\nbranches = main\nprepare_callback = /bin/sleep %s\n\n", i, repo.Remote, seconds)
	}
	s.writeConfig("%s", b.String())
	for i := 0; i < n; i++ {
		s.enqueue(fmt.Sprintf("p%d", i), "main")
	}
}

func TestDaemonRunsAtMostLimitBuildsAtOnce(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	queueSleepyBuilds(s, repo, 5, "1")
	p := s.daemon("--limit", "2", "--interval", "0")
	testenv.Eventually(t, 2*time.Minute, "the five builds did not finish", func() bool { return len(s.finished()) == 5 })
	builds := s.finished()
	for _, b := range builds {
		if b.Result != "success" {
			t.Errorf("%s: %s (%s)", b.Project, b.Result, b.Reason)
		}
	}
	if peak := maxOverlap(builds); peak != 2 {
		t.Errorf("at most %d builds ran at once, want exactly the limit 2", peak)
	}
	p.signal(syscall.SIGINT)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit %d after SIGINT\n%s", code, p.stderr())
	}
}

func TestDaemonBuildsPushesAndDroppedJobs(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[p]\nremote = %s\nbranches = main|dev\n", repo.Remote)
	p := s.daemon("--interval", "1")
	testenv.Eventually(t, time.Minute, "main was not built", func() bool { return len(s.finished()) == 1 })

	// A push is noticed by the watcher and built.
	pushed := repo.Commit("pushed", nil)
	repo.Push("main")
	testenv.Eventually(t, time.Minute, "the pushed commit was not built", func() bool {
		return s.hasBuild("p", "refs/heads/main", pushed)
	})
	p.signal(syscall.SIGINT)
	p.wait(t, 30*time.Second)

	// With polling off, a job file dropped into the spool starts a build at once.
	p = s.daemon("--interval", "3600")
	repo.Branch("dev")
	dev := repo.Commit("dev", nil)
	repo.Push("dev")
	s.dropJob("by-hand.job", fmt.Sprintf(`{"project":"p","ref":"refs/heads/dev","commit":%q,"source":"webhook"}`, dev))
	testenv.Eventually(t, time.Minute, "the dropped job was not built", func() bool { return s.hasBuild("p", "refs/heads/dev", dev) })
	p.signal(syscall.SIGINT)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit %d\n%s", code, p.stderr())
	}
}

// hasBuild reports whether a successful build of the commit exists.
func (s *site) hasBuild(project, ref, commit string) bool {
	for _, b := range s.finished() {
		if b.Project == project && b.Ref == ref && b.JobCommit() == commit && b.Result == "success" {
			return true
		}
	}
	return false
}

func TestDaemonReloadsWithoutDisturbingBuilds(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[slow]\nremote = %s\nbranches = main\nprepare_callback = /bin/sleep 3\n", repo.Remote)
	p := s.daemon("--interval", "3600")
	testenv.Eventually(t, time.Minute, "the slow build did not start", func() bool { return s.running() == 1 })

	// Adding a project: its refs get built; the running build goes on.
	s.writeConfig("[slow]\nremote = %[1]s\nbranches = main\nprepare_callback = /bin/sleep 3\n\n[added]\nremote = %[1]s\nbranches = main\n", repo.Remote)
	p.signal(syscall.SIGHUP)
	testenv.Eventually(t, time.Minute, "the added project was not built", func() bool { return s.hasBuild("added", "refs/heads/main", repo.Head()) })

	// Breaking the file: the error is logged, the old configuration keeps working.
	s.writeConfig("[slow]\nremote = %s\nbranches = (?<=x)\n", repo.Remote)
	p.signal(syscall.SIGHUP)
	testenv.Eventually(t, 30*time.Second, "the broken file was not reported", func() bool {
		return strings.Contains(p.stderr(), "configuration not reloaded") && strings.Contains(p.stderr(), "lookbehind")
	})
	s.dropJob("after-broken-reload.job", `{"project":"added","ref":"refs/heads/main","source":"webhook"}`)
	testenv.Eventually(t, time.Minute, "a job after the broken reload did not run", func() bool { return len(s.finished()) == 3 })
	for _, b := range s.finished() {
		if b.Result != "success" {
			t.Errorf("%s: %s (%s)", b.Project, b.Result, b.Reason)
		}
	}
	p.signal(syscall.SIGINT)
	p.wait(t, 30*time.Second)
}

func TestDaemonReloadsWhenTheFileChanges(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[a]\nremote = %s\nbranches = main\n", repo.Remote)
	p := s.daemon("--interval", "3600")
	testenv.Eventually(t, time.Minute, "a was not built", func() bool { return len(s.finished()) == 1 })
	// An editor's way: write a new file and rename it over the old one.
	next := s.file("next.ini", fmt.Sprintf("[a]\nremote = %[1]s\nbranches = main\n\n[b]\nremote = %[1]s\nbranches = main\n", repo.Remote), 0o644)
	os.Rename(next, s.config)
	testenv.Eventually(t, time.Minute, "b was not built after the file changed", func() bool { return len(s.finished()) == 2 })
	p.signal(syscall.SIGINT)
	p.wait(t, 30*time.Second)
}

func TestDaemonDrainsOnSIGINT(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	queueSleepyBuilds(s, repo, 5, "2")
	p := s.daemon("--limit", "2", "--interval", "0")
	testenv.Eventually(t, time.Minute, "two builds did not start", func() bool { return s.running() == 2 })
	p.signal(syscall.SIGINT)
	if code := p.wait(t, time.Minute); code != 0 {
		t.Fatalf("exit %d after SIGINT\n%s", code, p.stderr())
	}
	done := s.finished()
	if len(done) != 2 {
		t.Fatalf("%d builds finished during the drain, want the 2 that were running", len(done))
	}
	for _, b := range done {
		if b.Result != "success" {
			t.Errorf("a drained build ended %s: %s", b.Result, b.Reason)
		}
	}
	if q := s.jobsIn(spool.New); len(q) != 3 {
		t.Errorf("%d jobs left in spool/new, want 3", len(q))
	}
	// The next start runs them.
	p = s.daemon("--limit", "2", "--interval", "0")
	testenv.Eventually(t, 2*time.Minute, "the queued jobs did not run after a restart", func() bool { return len(s.finished()) == 5 })
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}

func TestDaemonCancelsOnSIGTERM(t *testing.T) {
	s := newSite(t)
	testenv.CleanDocker(t, s.workdir)
	repo := dockerRepo(t, `["/bin/sleep", "300"]`)
	s.writeConfig("[a]\nremote = %[1]s\nbranches = main\nbuild = True\nrun = True\npull = False\n\n[b]\nremote = %[1]s\nbranches = main\nbuild = True\nrun = True\npull = False\n", repo.Remote)
	const grace = 4 * time.Second
	p := s.daemon("--limit", "2", "--interval", "3600", "--grace", grace.String())
	testenv.Eventually(t, 3*time.Minute, "the two containers did not start", func() bool {
		n := 0
		for _, c := range testenv.Containers(t, s.workdir) {
			if strings.HasPrefix(c, "a-") || strings.HasPrefix(c, "b-") {
				n++
			}
		}
		return n == 2
	})
	sent := time.Now()
	p.signal(syscall.SIGTERM)
	code := p.wait(t, time.Minute)
	if took := time.Since(sent); took > grace+time.Second {
		t.Errorf("pipelined exited %v after SIGTERM; the budget is %v plus a second", took, grace)
	}
	if code != 0 {
		t.Errorf("exit %d, want 0\n%s", code, p.stderr())
	}
	for _, b := range s.finished() {
		if b.Result != "canceled" {
			t.Errorf("%s ended %s, want canceled", b.Project, b.Result)
		}
	}
	if n := len(s.finished()); n != 2 {
		t.Errorf("%d builds recorded a result, want 2", n)
	}
	testenv.NoContainersLeft(t, s.workdir)
	testenv.NoProcessMentions(t, s.workdir)
}

func TestDaemonRefusesAnInvalidConfigurationAtStart(t *testing.T) {
	s := newSite(t)
	s.writeConfig("[a]\nbuild = maybe\n\n[b]\nremote = /r\nrun = True\n")
	res := run(t, nil, bin.pipelined, "--config", s.config, "--workdir", s.workdir)
	if res.code != 2 {
		t.Fatalf("exit %d, want 2\n%s", res.code, res.stderr)
	}
	for _, want := range []string{":2: [a] build: \"maybe\" is not a boolean", ":1: [a] remote: no remote is set", ":6: [b] run: run = True needs build = True"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("the errors lack %q:\n%s", want, res.stderr)
		}
	}
	if _, err := os.Stat(s.workdir); err == nil {
		t.Error("the work directory was created for a configuration that was refused")
	}
}
