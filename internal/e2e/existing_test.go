package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/testenv"
	"pipelined/internal/workdir"
)

// TestBuildExistingFalseStartsWithoutABacklog: the first poll of a project with
// build_existing = False records the refs it finds, queues nothing, and says so in
// pipeline-watch's report, pipelined status and the page; a project beside it without the
// key builds its backlog; later commits and refs of the first project are built.
func TestBuildExistingFalseStartsWithoutABacklog(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	old := repo.Head()
	repo.Branch("dev")
	repo.Push("dev")
	s.writeConfig(`[quiet]
remote = %[1]s
branches = .*
build_existing = False

[eager]
remote = %[1]s
branches = .*
`, repo.Remote)
	s.makeWorkdir()
	res := run(t, nil, bin.watch, "--config", s.config, "--workdir", s.workdir, "--once")
	if res.code != 0 {
		t.Fatalf("pipeline-watch --once: exit %d\n%s", res.code, res.stderr)
	}
	for _, want := range []string{"  recorded refs/heads/dev " + old[:8], "  recorded refs/heads/main " + old[:8], "  queued   refs/heads/dev",
		"total: 2 queued, 2 skipped"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("the report lacks %q:\n%s", want, res.stdout)
		}
	}
	l := workdir.Layout{Root: s.workdir}
	if !exists(l.RecordedPath("quiet", "refs/heads/main", old)) || !exists(l.PolledMarker("quiet")) || exists(l.PolledMarker("eager")) {
		t.Errorf("the markers of the first poll are not as documented")
	}
	// A second pass records nothing more and queues nothing for quiet.
	res = run(t, nil, bin.watch, "--config", s.config, "--workdir", s.workdir, "--once")
	if !strings.Contains(res.stdout, "skipped  refs/heads/main "+old[:8]+": recorded without a build in ") {
		t.Errorf("the second pass:\n%s", res.stdout)
	}
	p := s.daemon("--interval", "3600")
	waitFor(t, p, 2*time.Minute, "eager's backlog was not built", func() bool { return len(s.finished()) == 2 })
	waitFor(t, p, time.Minute, "the page does not show the recorded refs", func() bool {
		page, _ := os.ReadFile(filepath.Join(s.workdir, "quiet", "index.html"))
		return strings.Count(string(page), ">recorded</span>") == 2
	})
	if st := run(t, nil, bin.pipelined, "status", "--workdir", s.workdir); strings.Count(st.stdout, "recorded") < 2 ||
		!strings.Contains(st.stdout, "existed at the first poll (build_existing = False)") {
		t.Errorf("pipelined status:\n%s", st.stdout)
	}

	laterCommitsAreBuilt(t, s, repo, p, old)
}

// laterCommitsAreBuilt pushes a commit to a recorded branch and a new branch: both are built,
// the recorded commits are not.
func laterCommitsAreBuilt(t *testing.T, s *site, repo *testenv.Repo, p *process, old string) {
	repo.Branch("main")
	head := repo.Commit("later", map[string]string{"later": "1"})
	repo.Push("main")
	repo.Branch("feature/new")
	repo.Push("feature/new")
	if res := run(t, nil, bin.pipelined, "poll", "--config", s.config, "--workdir", s.workdir, "quiet"); res.code != 0 {
		t.Fatalf("pipelined poll: exit %d\n%s", res.code, res.stderr)
	}
	waitFor(t, p, 2*time.Minute, "quiet's new commit and branch were not built", func() bool {
		return s.hasBuild("quiet", "refs/heads/main", head) && s.hasBuild("quiet", "refs/heads/feature/new", head)
	})
	if s.hasBuild("quiet", "refs/heads/dev", old) || s.hasBuild("quiet", "refs/heads/main", old) {
		t.Errorf("a recorded commit was built")
	}
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}
