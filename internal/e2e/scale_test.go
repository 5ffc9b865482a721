package e2e

// Issue 18, item 7: 10,000 projects work.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/testenv"
)

// manyProjects is how many projects the scale test configures: the figure.
const manyProjects = 10000

// TestTenThousandProjectsArePolled: a configuration of 10,000 sections is accepted, and so
// is the daemon's snapshot of it (which pipeline-watch reads); one pass polls every
// project. The projects share one remote, by a file:// URL (so that git itself answers,
// as for any remote, while the pass asks it once for all), and set build_existing =
// False: their first poll records the commit of main without building it. A marker per
// project is the proof that each was polled, and it costs no build and no job file.
func TestTenThousandProjectsArePolled(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	var cfg strings.Builder
	cfg.WriteString("[DEFAULT]\nbranches = main\nbuild_existing = False\n\n")
	for i := range manyProjects {
		fmt.Fprintf(&cfg, "[p%05d]\nremote = file://%s\n\n", i, repo.Remote)
	}
	s.writeConfig("%s", cfg.String())
	start := time.Now()
	p := s.daemon("--interval", "3600")
	started := time.Since(start)
	// A pass reads the configuration and writes a marker per project: some ten seconds on
	// a busy machine of two cores; the bound is generous, the test's point is that all are
	// polled at all.
	recorded := func() int { return strings.Count(p.stderr(), "recorded without a build") }
	deadline := time.Now().Add(2 * time.Minute)
	for n := recorded(); n < manyProjects; n = recorded() {
		if time.Now().After(deadline) || p.exited() {
			t.Fatalf("%d of %d projects were polled\n%.3000s", n, manyProjects, p.stderr())
		}
		time.Sleep(100 * time.Millisecond) // a polling interval, not a wait for an effect
	}
	t.Logf("started in %v, all polled %v after the start", started.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	head := repo.Head()[:8]
	for _, i := range []int{0, manyProjects / 2, manyProjects - 1} {
		marker := filepath.Join(s.workdir, fmt.Sprintf("p%05d", i), "refs%2Fheads%2Fmain", head+".recorded")
		if _, err := os.Stat(marker); err != nil {
			t.Errorf("project %d: %v", i, err)
		}
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(t, time.Minute); code != 0 {
		t.Errorf("exit %d after SIGTERM\n%.3000s", code, p.stderr())
	}
}
