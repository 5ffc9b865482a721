package e2e

// Issue 18's soak: pushes to the same refs, kill -9 of the daemon and of builds, SIGTERM
// while a callback deploys, and a webhook that names its job files the same way each
// time. A ledger of the deploys shows what a deploy target saw.

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/spool"
	"pipelined/internal/testenv"
)

// soakCycles is how many faults and pushes the soak makes, some 100 to 400 ms apart: about
// half a minute of them, with a dozen restarts of the daemon.
const soakCycles = 50

// deploySoak is the soak's site: project p builds main and b1, each build sleeps in its
// prepare step (a window for kills outside the deploy), rsyncs its checkout to
// deploy/REF_NAME and runs a callback that outlives SIGTERM and, as its last act, appends
// "REF_NAME COMMIT" to the ledger: a deploy that completed.
type deploySoak struct {
	*site
	repo    *testenv.Repo
	rnd     *rand.Rand
	args    []string
	ledger  string
	pushed  map[string][]string // ref name → its commits, in the order they were pushed
	killed  map[string]bool     // commits whose build was killed (once each: its retry waits 5 s)
	daemon  *process
	daemons []*process
	did     map[string]int // what the soak did, for the log
}

func newDeploySoak(t *testing.T) *deploySoak {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	s := &deploySoak{site: newSite(t), rnd: rand.New(rand.NewPCG(seed, seed)), pushed: map[string][]string{},
		killed: map[string]bool{}, did: map[string]int{}, args: []string{"--limit", "2", "--interval", "1", "--grace", "5s"}}
	s.repo = testenv.NewRepo(t, nil)
	s.repo.PushRef(s.repo.Head(), "refs/heads/b1")
	s.pushed["main"], s.pushed["b1"] = []string{s.repo.Head()}, []string{s.repo.Head()}
	s.ledger = filepath.Join(s.dir, "ledger")
	os.Mkdir(filepath.Join(s.dir, "deploy"), 0o755)
	deploy := s.file("deploy.sh", `#!/bin/sh
trap 'echo "outlived a SIGTERM"' TERM
touch "$0.$$"
for i in 1 2 3 4; do sleep 0.05; done
echo "$BUILD_REF_NAME $BUILD_COMMIT" >> `+s.ledger+`
rm -f "$0.$$"
exit 0
`, 0o755)
	s.writeConfig("[p]\nremote = %s\nbranches = main|b1\nprepare_callback = /bin/sleep 0.3\nrsync.destination = %s/deploy/${BUILD_REF_NAME}\nsuccess_callback = %s\n",
		s.repo.Remote, s.dir, deploy)
	return s
}

// TestDeploySoakEndsEachRefOnItsNewestCommit: after any mix of pushes, kill -9 of the
// daemon and of builds, SIGTERM while callbacks deploy, and job files delivered again under
// one name, each ref's last deploy is its newest commit, its deploys came in the order of
// its pushes, and no commit was deployed twice.
func TestDeploySoakEndsEachRefOnItsNewestCommit(t *testing.T) {
	s := newDeploySoak(t)
	s.start(t)
	for range soakCycles {
		s.act(t)
		// The moment of the next fault is the test's input, not a wait for an effect.
		time.Sleep(time.Duration(100+s.rnd.IntN(300)) * time.Millisecond)
	}
	t.Logf("the soak did %v", s.did)
	if s.daemon.exited() {
		s.start(t)
	}
	// Builds take about a second; a build killed once is retried 5 s later; a machine with
	// both cores busy is some ten times slower.
	waitFor(t, s.daemon, 3*time.Minute, "the soak's newest commits were not built", s.settled)
	s.daemon.signal(syscall.SIGINT)
	if code := s.daemon.wait(t, time.Minute); code != 0 {
		t.Errorf("the last daemon exited %d", code)
	}
	s.checkLedger(t)
	if bad, _ := filepath.Glob(filepath.Join(s.workdir, ".pipelined", "spool", "bad", "*")); len(bad) > 0 {
		t.Errorf("jobs were set aside: %v", bad)
	}
	for _, st := range s.runningStatuses() {
		t.Errorf("build.json of %s says running", st.Path)
	}
	if t.Failed() {
		for i, d := range s.daemons {
			t.Logf("daemon %d:\n%s", i, d.stderr())
		}
	}
	testenv.Eventually(t, 10*time.Second, "processes of the soak are left", func() bool {
		return len(testenv.ProcessesMentioning(s.dir)) == 0
	})
}

func (s *deploySoak) start(t *testing.T) {
	s.daemon = s.site.daemon(s.args...)
	s.daemons = append(s.daemons, s.daemon)
}

// act makes one push or fault, at random.
func (s *deploySoak) act(t *testing.T) {
	switch r := s.rnd.IntN(100); {
	case r < 15:
		s.daemon.cmd.Process.Kill()
		s.daemon.wait(t, time.Minute)
		s.did["kill -9 of the daemon"]++
		s.start(t)
	case r < 30 && s.killBuild():
		s.did["kill -9 of a build"]++
	case r < 50 && s.running() > 0 && s.awaitDeploy():
		s.daemon.signal(syscall.SIGTERM)
		s.daemon.wait(t, time.Minute)
		s.did["SIGTERM during a deploy"]++
		s.start(t)
	case r < 65:
		ref := []string{"main", "b1"}[s.rnd.IntN(2)]
		commit := s.pushed[ref][len(s.pushed[ref])-1]
		s.dropJob("hook.job", fmt.Sprintf(`{"project": "p", "ref": "refs/heads/%s", "commit": %q, "source": "webhook"}`, ref, commit))
		s.did["hook.job delivered"]++
	default:
		ref := []string{"main", "b1"}[s.rnd.IntN(2)]
		commit := s.repo.Commit(fmt.Sprintf("%s %d", ref, len(s.pushed[ref])), map[string]string{"version": ref})
		s.repo.PushRef(commit, "refs/heads/"+ref)
		s.pushed[ref] = append(s.pushed[ref], commit)
		s.did["push"]++
	}
}

// awaitDeploy waits for a running build to start deploying, for at most the time a build
// takes on a busy machine, and reports whether one did.
func (s *deploySoak) awaitDeploy() bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if s.deploying() {
			return true
		}
	}
	return false
}

// deploying reports whether a callback is deploying now.
func (s *deploySoak) deploying() bool {
	markers, _ := filepath.Glob(filepath.Join(s.dir, "deploy.sh.*"))
	for _, m := range markers {
		if pid, err := strconv.Atoi(filepath.Ext(m)[1:]); err == nil && syscall.Kill(pid, 0) == nil {
			return true
		}
	}
	return false
}

// killBuild kills -9 a pipeline-build whose commit's deploy has not completed (a deploy
// cut off at its end, after the callback's last act and before the build could record it,
// is the one deploy that would be repeated: it is not the soak's fault to make), and whose
// commit no kill hit before. It reports whether it killed one.
func (s *deploySoak) killBuild() bool {
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		data, _ := os.ReadFile(p)
		args := strings.Split(string(data), "\x00")
		i := slices.Index(args, "--job")
		if !strings.HasSuffix(args[0], "pipeline-build") || !slices.Contains(args, s.workdir) || i < 0 || i+1 >= len(args) {
			continue
		}
		job, err := s.readJob(args[i+1])
		if err != nil || job.Commit == "" {
			continue
		}
		name := strings.TrimPrefix(job.Ref, "refs/heads/")
		if s.killed[job.Commit] || slices.Contains(s.deploys(name), job.Commit) {
			continue
		}
		s.killed[job.Commit] = true
		pid, _ := strconv.Atoi(strings.Split(p, "/")[2])
		return syscall.Kill(pid, syscall.SIGKILL) == nil
	}
	return false
}

// readJob reads a job file.
func (s *deploySoak) readJob(path string) (spool.Job, error) {
	f, err := os.Open(path)
	if err != nil {
		return spool.Job{}, err
	}
	defer f.Close()
	return spool.DecodeJob(f)
}

// deploys returns the commits the ledger names for a ref, in the order they were deployed.
func (s *deploySoak) deploys(refName string) []string {
	return (&deploySite{site: s.site, ledger: s.ledger}).deploys(refName)
}

// settled reports whether each ref's newest commit is built and nothing is queued or runs.
func (s *deploySoak) settled() bool {
	for ref, commits := range s.pushed {
		if !s.hasBuild("p", "refs/heads/"+ref, commits[len(commits)-1]) {
			return false
		}
	}
	return len(s.claimed())+len(s.queued()) == 0 && s.running() == 0
}

// checkLedger: each ref's deploys are in the order of its pushes, without a repeat, and
// end with its newest commit.
func (s *deploySoak) checkLedger(t *testing.T) {
	t.Helper()
	for ref, commits := range s.pushed {
		deployed := s.deploys(ref)
		last := -1
		for _, c := range deployed {
			i := slices.Index(commits, c)
			if i <= last {
				t.Errorf("%s: %s deployed after a newer commit or again; deploys %v, pushes %v", ref, c[:8], short(deployed), short(commits))
			}
			last = max(last, i)
		}
		if len(deployed) == 0 || deployed[len(deployed)-1] != commits[len(commits)-1] {
			t.Errorf("%s: the last deploy is not the newest commit %s; deploys %v", ref, commits[len(commits)-1][:8], short(deployed))
		}
		t.Logf("%s: %d pushes, %d deploys", ref, len(commits), len(deployed))
	}
}

func short(commits []string) []string {
	var out []string
	for _, c := range commits {
		out = append(out, c[:8])
	}
	return out
}
