package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/outcome"
)

// count is how many times commit appears in commits.
func count(commits []string, commit string) int {
	n := 0
	for _, c := range commits {
		if c == commit {
			n++
		}
	}
	return n
}

// TestEachCommitIsDeployedOnceUnlessARebuildIsAsked (items 3, 4 and 5): a SIGTERM while a
// success_callback runs that outlives it and exits 0 leaves a successful build, which the
// next start does not build again; a redelivered webhook job and a repeated enqueue of a
// built commit cost nothing, and a job that asks for a rebuild (enqueue --rebuild, the
// field rebuild) builds it again; a job file that sets the daemon's own attempts (a retry
// in 2099) is built now, with a warning, and an enqueue of its commit meanwhile costs
// nothing.
func TestEachCommitIsDeployedOnceUnlessARebuildIsAsked(t *testing.T) {
	s := newDeploySite(t, "term", "watch = False\n")
	first := s.repo.Head()
	args := []string{"--limit", "2", "--grace", "10s"}
	s.enqueueSays(t, "queued p refs/heads/main at "+first[:8], "p", "main")
	p := s.daemon(args...)
	waitFor(t, p, time.Minute, "the callback did not start", func() bool { return count(s.deploys("main"), first) == 1 })
	p.signal(syscall.SIGTERM)
	// The callback exits 0 on the SIGTERM; a loaded machine may take that long to stop.
	p.wait(t, 30*time.Second)
	if st := status(t, s.onlyBuild("p")); st.Result != outcome.Success {
		t.Errorf("a build whose callback exited 0 after the SIGTERM: %s (%s), want success\n%s", st.Result, st.Reason,
			readFile(t, filepath.Join(st.Path, "build.log")))
	}
	p = s.daemon(args...)
	waitFor(t, p, time.Minute, "the spool did not settle after the restart", func() bool {
		return logCount(p, "recovered the spool") == 1 && len(s.claimed())+len(s.queued()) == 0 && s.running() == 0
	})
	if n := count(s.deploys("main"), first); n != 1 {
		t.Errorf("the restart deployed %s again: %d deploys", first[:8], n)
	}
	s.redeliveriesCostNothing(t, p, first)
	s.daemonsFieldsAreIgnored(t, p)
	p.signal(syscall.SIGINT)
	if code := p.wait(t, time.Minute); code != 0 {
		t.Errorf("exit %d after SIGINT", code)
	}
}

// redeliveriesCostNothing: a webhook job delivered again and a repeated enqueue of the
// built commit are dropped; --rebuild and "rebuild": true build it, once each.
func (s *deploySite) redeliveriesCostNothing(t *testing.T, p *process, first string) {
	t.Helper()
	webhook := fmt.Sprintf(`{"project": "p", "ref": "refs/heads/main", "commit": %q, "source": "webhook"`, first)
	s.dropJob("hook.job", webhook+"}")
	waitFor(t, p, time.Minute, "the redelivered job was not dropped", func() bool {
		return logCount(p, "dropped a job", "commit="+first[:8], "already built") == 1
	})
	s.enqueueSays(t, "queued p refs/heads/main at "+first[:8], "p", "main")
	waitFor(t, p, time.Minute, "the repeated enqueue was not dropped", func() bool {
		return logCount(p, "dropped a job", "commit="+first[:8], "already built") == 2
	})
	s.enqueueSays(t, "queued p refs/heads/main at "+first[:8], "--rebuild", "p", "main")
	waitFor(t, p, time.Minute, "enqueue --rebuild did not build", func() bool { return count(s.deploys("main"), first) == 2 })
	s.dropJob("hook.job", webhook+`, "rebuild": true}`)
	waitFor(t, p, time.Minute, `"rebuild": true did not build`, func() bool { return count(s.deploys("main"), first) == 3 })
	waitFor(t, p, time.Minute, "the rebuilds did not settle", func() bool { return len(s.claimed())+len(s.queued()) == 0 })
	if n := count(s.deploys("main"), first); n != 3 {
		t.Errorf("%s was deployed %d times, want 3: the first build and two rebuilds", first[:8], n)
	}
}

// daemonsFieldsAreIgnored: a job file that sets attempts (a retry due in 2099) is built
// now, with a warning; an enqueue of its commit while it builds is dropped, and the commit
// is built once.
func (s *deploySite) daemonsFieldsAreIgnored(t *testing.T, p *process) {
	t.Helper()
	held := s.repo.Commit("held", map[string]string{"version": "held\n"})
	s.repo.Push("main")
	s.dropJob("attempts.job", fmt.Sprintf(`{"project": "p", "ref": "refs/heads/main", "commit": %q,
		"attempts": [{"at": "2099-01-01T00:00:00Z", "reason": "a retry far away"}]}`, held))
	waitFor(t, p, time.Minute, "the job with attempts did not start", func() bool { return s.running() == 1 })
	if logCount(p, "ignored fields of a job file that only pipelined writes", "attempts") != 1 {
		t.Errorf("no warning about the job file's attempts:\n%s", p.stderr())
	}
	s.enqueueSays(t, "queued p refs/heads/main at "+held[:8], "p", "main")
	waitFor(t, p, time.Minute, "the enqueue of a running commit was not dropped", func() bool {
		return logCount(p, "dropped a job", "commit="+held[:8], "running or queued ahead") == 1
	})
	os.Remove(s.gate)
	waitFor(t, p, time.Minute, "the commit was not built", func() bool { return s.hasBuild("p", "refs/heads/main", held) })
	waitFor(t, p, time.Minute, "the spool did not settle", func() bool { return len(s.claimed())+len(s.queued()) == 0 })
	if n := count(s.deploys("main"), held); n != 1 {
		t.Errorf("%s was deployed %d times, want once", held[:8], n)
	}
}

// enqueueSays runs pipelined enqueue and checks that its standard output starts with want.
func (s *site) enqueueSays(t *testing.T, want string, args ...string) {
	t.Helper()
	s.makeWorkdir()
	res := run(t, nil, bin.pipelined, append([]string{"enqueue", "--config", s.config, "--workdir", s.workdir}, args...)...)
	if res.code != 0 || !strings.HasPrefix(res.stdout, want) {
		t.Errorf("pipelined enqueue %v: exit %d, stdout %q, want %q…\n%s", args, res.code, res.stdout, want, res.stderr)
	}
}
