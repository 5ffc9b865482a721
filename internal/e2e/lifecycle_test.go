package e2e

// The build lifecycle (issue "Build lifecycle"): retention, superseded and interrupted
// builds, per-project limits, cancel by hand and poll now, against the real binaries.

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/outcome"
	"pipelined/internal/testenv"
	"pipelined/internal/workdir"
)

// commits makes n commits on main of repo, pushes them, and returns them oldest first.
func commits(repo *testenv.Repo, n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, repo.Commit(fmt.Sprintf("c%d", i), map[string]string{"n": fmt.Sprint(i)}))
	}
	repo.Push("main")
	return out
}

// builtCommits lists the commits of a project's builds of main with the given result.
func (s *site) builtCommits(project, result string) []string {
	var out []string
	for _, b := range s.finished() {
		if b.Project == project && b.Ref == "refs/heads/main" && (result == "" || b.Result == result) {
			out = append(out, b.Commit)
		}
	}
	sort.Strings(out)
	return out
}

func sorted(s ...string) []string { sort.Strings(s); return s }

func imageExists(t *testing.T, id string) bool {
	return run(t, nil, "docker", "image", "inspect", id).code == 0
}

// TestKeepBuildsRemovesOlderBuildsAndTheirImages: keep_builds = 2 over five builds of a
// branch leaves the newest two, and the images of the other three go with them.
func TestKeepBuildsRemovesOlderBuildsAndTheirImages(t *testing.T) {
	s := newSite(t)
	testenv.CleanDocker(t, s.workdir)
	repo := dockerRepo(t, `["/bin/true"]`)
	s.writeConfig("[p]\nremote = %s\nbuild = True\npull = False\nkeep_builds = 2\n", repo.Remote)
	p := s.daemon("--interval", "0")
	images := map[string]string{} // commit → image
	cs := commits(repo, 5)
	for i, c := range cs {
		if i == 1 {
			run(t, nil, "docker", "tag", images[cs[0]], "pipelined-test/by-hand:"+strconv.Itoa(os.Getpid()))
		}
		s.enqueue("p", "main", c)
		waitFor(t, p, 3*time.Minute, "the build did not finish", func() bool { return logCount(p, "build finished", "commit="+c[:8]) == 1 })
		for _, b := range s.finished() {
			if b.Commit == c {
				images[c] = b.Image
			}
		}
		if images[c] == "" {
			t.Fatalf("the build of %s recorded no image\n%s", c, p.stderr())
		}
	}
	waitFor(t, p, time.Minute, "retention did not remove three builds", func() bool { return logCount(p, "removed a build") == 3 })
	// The one the operator tagged by hand stays theirs: its build goes, its image stays.
	if got, want := s.builtCommits("p", ""), sorted(cs[3], cs[4]); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("builds left: %v, want the newest two %v", got, want)
	}
	for i, c := range cs {
		if exists := imageExists(t, images[c]); exists != (i >= 3 || i == 0) {
			t.Errorf("image of build %d exists: %v", i+1, exists)
		}
	}
	if !eventuallyLogged(p, func() bool { return logCount(p, "removed a build", "beyond keep_builds = 2", "image=sha256:") == 2 }) {
		t.Errorf("the removals are not logged with their reason and image:\n%s", p.stderr())
	}
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}

// TestKeepDaysAndDryRun: pipelined prune removes the builds finished more than keep_days
// ago, but never the newest build of a ref nor its newest success; --dry-run only says so.
func TestKeepDaysAndDryRun(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[p]\nremote = %s\nkeep_days = 7\n", repo.Remote)
	cs := commits(repo, 4)
	for _, c := range cs {
		if res := s.build("p", "main", c); res.code != 0 {
			t.Fatalf("build: %s", res.stderr)
		}
	}
	// The three oldest are back-dated ten days: two of them go; the newest stays anyway.
	old := time.Now().Add(-10 * 24 * time.Hour)
	for _, dir := range s.buildDirs("p", workdir.EncodeRef("refs/heads/main")) {
		st := status(t, dir)
		if st.Commit == cs[3] {
			continue
		}
		st.Started, st.Finished = old, old
		st.Save(filepath.Join(dir, "build.json"))
		os.Chtimes(dir, old, old)
	}
	before := s.buildDirs("p", workdir.EncodeRef("refs/heads/main"))
	dry := run(t, nil, bin.pipelined, "prune", "--config", s.config, "--workdir", s.workdir, "--dry-run")
	if dry.code != 0 || strings.Count(dry.stdout, "would remove") != 3 || !strings.Contains(dry.stdout, "older than keep_days = 7") {
		t.Errorf("prune --dry-run: exit %d\n%s%s", dry.code, dry.stdout, dry.stderr)
	}
	if after := s.buildDirs("p", workdir.EncodeRef("refs/heads/main")); len(after) != len(before) {
		t.Errorf("--dry-run removed builds: %v → %v", before, after)
	}
	st := run(t, nil, bin.pipelined, "status", "--workdir", s.workdir, "--config", s.config)
	if !strings.Contains(st.stdout, "retention removes 3 now") {
		t.Errorf("status does not say what retention removes:\n%s", st.stdout)
	}
	// Builds that cannot be removed (their ref directory is read-only, and prune runs
	// without root's override) are kept whole and said, and prune exits 1 for cron.
	refDir := filepath.Dir(before[0])
	os.Chmod(refDir, 0o555)
	testenv.Require(t, "setpriv")
	res := run(t, nil, "setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--",
		bin.pipelined, "prune", "--config", s.config, "--workdir", s.workdir, "p")
	if res.code != 1 || strings.Count(res.stdout, "kept ") != 3 || strings.Contains(res.stdout, "removed") {
		t.Errorf("prune with builds it cannot remove: exit %d, want 1\n%s%s", res.code, res.stdout, res.stderr)
	}
	for _, dir := range before {
		if _, err := os.Stat(filepath.Join(dir, "build.json")); err != nil {
			t.Errorf("a build prune could not remove is not whole: %v", err)
		}
	}
	os.Chmod(refDir, 0o755)
	res = run(t, nil, bin.pipelined, "prune", "--config", s.config, "--workdir", s.workdir, "p")
	if res.code != 0 || strings.Count(res.stdout, "removed") != 3 {
		t.Errorf("prune: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if got := s.builtCommits("p", ""); strings.Join(got, " ") != cs[3] {
		t.Errorf("builds left: %v, want only the newest %s", got, cs[3])
	}
	again := run(t, nil, bin.pipelined, "prune", "--config", s.config, "--workdir", s.workdir)
	if again.code != 0 || !strings.Contains(again.stdout, "nothing to remove") {
		t.Errorf("a second prune: exit %d\n%s", again.code, again.stdout)
	}
}

// TestNewerCommitsSupersedeQueuedOnes: five commits queued behind a slow build, with
// --limit 1: only the newest is built after it; the others are dropped with the reason.
func TestNewerCommitsSupersedeQueuedOnes(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	gate := s.file("gate", "", 0o644)
	slow := s.file("slow.sh", "#!/bin/sh\nwhile [ -e "+gate+" ]; do sleep 0.1; done\n", 0o755)
	s.writeConfig("[p]\nremote = %s\nprepare_callback = %s\n", repo.Remote, slow)
	first := repo.Head()
	s.enqueue("p", "main", first)
	p := s.daemon("--limit", "1", "--interval", "0")
	waitFor(t, p, time.Minute, "the slow build did not start", func() bool { return s.running() == 1 })
	cs := commits(repo, 5)
	for _, c := range cs {
		s.enqueue("p", "main", c)
	}
	os.Remove(gate)
	waitFor(t, p, time.Minute, "the newest commit was not built", func() bool { return s.hasBuild("p", "refs/heads/main", cs[4]) })
	// Each is dropped as the next one arrives.
	waitFor(t, p, time.Minute, "the older queued commits were not dropped", func() bool {
		return logCount(p, "dropped a job", "superseded by") == 4
	})
	for i := 0; i < 4; i++ {
		if logCount(p, "dropped a job", "commit="+cs[i][:8], "superseded by "+cs[i+1][:8]) != 1 {
			t.Errorf("commit %d was not dropped for commit %d:\n%s", i, i+1, p.stderr())
		}
	}
	if got, want := s.builtCommits("p", ""), sorted(first, cs[4]); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("built %v, want the running one and the newest %v", got, want)
	}
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}

// TestInterruptibleCancelsTheRunningBuild: with interruptible = True, a newer commit of the
// branch cancels the running build, which records why and runs error_callback.
func TestInterruptibleCancelsTheRunningBuild(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	marker := s.file("slow.sh", "#!/bin/sh\n[ -e \"$0.first\" ] || { touch \"$0.first\"; exec sleep 300; }\n", 0o755)
	cb := s.file("cb.sh", callbackScript, 0o755)
	s.writeConfig("[p]\nremote = %s\nbranches = main\ninterruptible = True\nprepare_callback = %s\nerror_callback = %s error\n", repo.Remote, marker, cb)
	old := repo.Head()
	p := s.daemon("--interval", "1")
	waitFor(t, p, time.Minute, "the slow step did not start", func() bool { _, err := os.Stat(marker + ".first"); return err == nil })
	newer := repo.Commit("newer", nil)
	repo.Push("main")
	waitFor(t, p, time.Minute, "the newer commit was not built", func() bool { return s.hasBuild("p", "refs/heads/main", newer) })
	var canceled *buildlog.Status
	for _, b := range s.finished() {
		if b.Commit == old {
			canceled = b
		}
	}
	if canceled == nil || canceled.Result != outcome.Canceled || canceled.Reason != "superseded by "+newer[:8] {
		t.Fatalf("the superseded build: %+v", canceled)
	}
	if env := envFile(t, filepath.Join(canceled.Path, "error.env")); env["BUILD_STATUS"] != "canceled" {
		t.Errorf("error_callback saw BUILD_STATUS=%q", env["BUILD_STATUS"])
	}
	if !eventuallyLogged(p, func() bool { return logCount(p, "build finished", "commit="+old[:8], "outcome=withdrawn") == 1 }) {
		t.Errorf("the superseded build's job was not withdrawn:\n%s", p.stderr())
	}
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
	if n := s.successes()["p refs/heads/main "+old]; n != 0 {
		t.Errorf("the superseded commit was built after all")
	}
}

// TestProjectLimitDoesNotHoldUpOthers: a project with limit = 1 and three jobs runs them
// one at a time, and another project's job, queued after them, starts at once.
func TestProjectLimitDoesNotHoldUpOthers(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[x]\nremote = %[1]s\nlimit = 1\nprepare_callback = /bin/sleep 2\n\n[y]\nremote = %[1]s\n", repo.Remote)
	for _, b := range []string{"b1", "b2", "b3"} {
		repo.Branch(b)
		repo.Push(b)
		s.enqueue("x", b, repo.Head())
	}
	s.enqueue("y", "b3", repo.Head())
	p := s.daemon("--limit", "3", "--interval", "0")
	waitFor(t, p, 2*time.Minute, "the four builds did not finish", func() bool { return len(s.finished()) == 4 })
	var xs []*buildlog.Status
	var y *buildlog.Status
	for _, b := range s.finished() {
		if b.Project == "x" {
			xs = append(xs, b)
		} else {
			y = b
		}
	}
	if peak := maxOverlap(xs); peak != 1 {
		t.Errorf("x ran %d builds at once, want 1", peak)
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i].Started.Before(xs[j].Started) })
	if !y.Started.Before(xs[0].Finished) {
		t.Errorf("y started at %v, after x's first build ended at %v: the limit of x held it up", y.Started, xs[0].Finished)
	}
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}
