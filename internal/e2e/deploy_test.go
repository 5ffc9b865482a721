package e2e

// Issue 18: a build is usually a deploy (rsync, a callback). Each commit is deployed once,
// and the last deploy of a ref is its newest commit built.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/outcome"
	"pipelined/internal/spool"
	"pipelined/internal/testenv"
)

// deploySite is a project whose builds deploy: rsync of the checkout to deploy/REF_NAME,
// then a success_callback that appends "REF_NAME COMMIT" to a ledger. What a build does
// besides depends on the file version of its checkout: "held" waits in the prepare step
// while the gate exists; "term" deploys slowly the first time: its callback goes on until
// a SIGTERM comes, which it outlives, and then exits 0.
type deploySite struct {
	*site
	repo   *testenv.Repo
	gate   string // remove it to let held builds go on
	ledger string
}

func newDeploySite(t *testing.T, version, extra string) *deploySite {
	s := &deploySite{site: newSite(t)}
	s.repo = testenv.NewRepo(t, map[string]string{"version": version + "\n"})
	s.gate = s.file("gate", "", 0o644)
	s.ledger = filepath.Join(s.dir, "ledger")
	os.Mkdir(filepath.Join(s.dir, "deploy"), 0o755)
	hold := s.file("hold.sh", "#!/bin/sh\nif [ \"$(cat version)\" = held ]; then\n  while [ -e "+s.gate+" ]; do sleep 0.05; done\nfi\n", 0o755)
	deploy := s.file("deploy.sh", `#!/bin/sh
if [ "$(cat version)" = term ] && [ ! -e "$0.termed" ]; then
  trap 'touch "$0.termed"' TERM
  slow=1
fi
echo "$BUILD_REF_NAME $BUILD_COMMIT" >> `+s.ledger+`
while [ -n "$slow" ] && [ ! -e "$0.termed" ]; do sleep 0.05; done
exit 0
`, 0o755)
	s.writeConfig("[p]\nremote = %s\nbranches = main\nprepare_callback = %s\nrsync.destination = %s/deploy/${BUILD_REF_NAME}\nsuccess_callback = %s\n%s",
		s.repo.Remote, hold, s.dir, deploy, extra)
	return s
}

// deploys returns the commits the ledger names for a ref, in the order they were deployed.
func (s *deploySite) deploys(refName string) []string {
	data, _ := os.ReadFile(s.ledger)
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if ref, commit, ok := strings.Cut(line, " "); ok && ref == refName {
			out = append(out, commit)
		}
	}
	return out
}

// claimed returns the names of the job files in spool/cur/.
func (s *site) claimed() []string {
	var names []string
	entries, _ := os.ReadDir(filepath.Join(s.workdir, ".pipelined", "spool", spool.Cur))
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names
}

// TestOneBuildOfARefAtATimeAndNoJobReplacesAnother (items 1 and 2): with --limit 2, a
// push to main while main's build runs waits for it, so the last rsync and callback of main
// are its newest commit's; a job file dropped under the running job's name (a webhook that
// names its files the same way each time), for another ref, runs beside it: both jobs are
// built, neither fails, and each log line names its own build directory.
func TestOneBuildOfARefAtATimeAndNoJobReplacesAnother(t *testing.T) {
	s := newDeploySite(t, "held", "")
	held := s.repo.Head()
	p := s.daemon("--limit", "2", "--interval", "1")
	var name string
	waitFor(t, p, time.Minute, "the held build did not start", func() bool {
		names := s.claimed()
		if len(names) == 1 && s.running() == 1 {
			name = names[0]
		}
		return name != ""
	})
	newer := s.repo.Commit("newer", map[string]string{"version": "newer\n"})
	s.repo.Push("main")
	waitFor(t, p, time.Minute, "the push was not queued", func() bool { return logCount(p, "msg=enqueued", "commit="+newer[:8]) == 1 })
	s.repo.Branch("other")
	other := s.repo.Commit("other", map[string]string{"version": "other\n"})
	s.repo.Push("other")
	s.dropJob(name, fmt.Sprintf(`{"project": "p", "ref": "refs/heads/other", "commit": %q}`, other))
	// The other ref takes the second slot; main's newer commit, queued before it, waits.
	waitFor(t, p, time.Minute, "the other ref was not built beside the held build", func() bool {
		return s.hasBuild("p", "refs/heads/other", other)
	})
	os.Remove(s.gate)
	waitFor(t, p, time.Minute, "the newer commit was not built", func() bool { return s.hasBuild("p", "refs/heads/main", newer) })
	p.signal(syscall.SIGINT)
	if code := p.wait(t, time.Minute); code != 0 {
		t.Errorf("exit %d after SIGINT", code)
	}
	if got := s.deploys("main"); strings.Join(got, " ") != held+" "+newer {
		t.Errorf("main was deployed in the order %v, want the held commit then the newer one", got)
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(s.dir, "deploy", "main", "version"))); got != "newer" {
		t.Errorf("the last rsync of main deployed version %q, want the newer commit's", got)
	}
	s.checkEachBuildOnce(t, p, map[string]string{held: "main", newer: "main", other: "other"})
}

// checkEachBuildOnce checks that each commit (→ its ref's name) was built once and
// succeeded, that the builds of one ref never overlapped, and that each commit's log line
// names a directory of its own ref.
func (s *site) checkEachBuildOnce(t *testing.T, p *process, want map[string]string) {
	t.Helper()
	byRef := map[string][]*buildlog.Status{}
	for _, b := range s.finished() {
		byRef[b.Ref] = append(byRef[b.Ref], b)
		if b.Result != outcome.Success {
			t.Errorf("%s: %s (%s)", b.Path, b.Result, b.Reason)
		}
	}
	for ref, builds := range byRef {
		if n := maxOverlap(builds); n > 1 {
			t.Errorf("%d builds of %s ran at once", n, ref)
		}
	}
	for commit, ref := range want {
		if n := s.successes()["p refs/heads/"+ref+" "+commit]; n != 1 {
			t.Errorf("%s of %s was built %d times, want once", commit[:8], ref, n)
		}
		lines := 0
		for _, line := range strings.Split(p.stderr(), "\n") {
			if strings.Contains(line, "build finished") && strings.Contains(line, "commit="+commit[:8]) {
				lines++
				if !strings.Contains(line, filepath.Join(s.workdir, "p", "refs%2Fheads%2F"+ref, commit[:8])) {
					t.Errorf("the log line of %s names another directory: %s", commit[:8], line)
				}
			}
		}
		if lines != 1 {
			t.Errorf("%d log lines for the build of %s, want 1", lines, commit[:8])
		}
	}
}
