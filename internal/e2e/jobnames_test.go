package e2e

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/testenv"
)

// TestAJobNamedLikeABuiltOneIsNotTakenForIt: a webhook that names its job files the same
// way each time (hook.job) delivers a job after an earlier one of that name was built. When
// the new job's build ends before it has a build directory of its own (here: its ref cannot
// be resolved, the remote is away), the earlier build's record is not taken for it: the job
// is retried after its back-off, and built once the remote is back. A redelivery of that
// job, under the same name again, costs nothing.
func TestAJobNamedLikeABuiltOneIsNotTakenForIt(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[p]\nremote = %s\nwatch = False\n", repo.Remote)
	first := repo.Head()
	p := s.daemon()
	s.dropJob("hook.job", fmt.Sprintf(`{"project": "p", "ref": "refs/heads/main", "commit": %q}`, first))
	waitFor(t, p, time.Minute, "the first job was not built", func() bool {
		return s.hasBuild("p", "refs/heads/main", first) && len(s.claimed()) == 0
	})
	newer := repo.Commit("newer", nil)
	repo.Push("main")
	if err := os.Rename(repo.Remote, repo.Remote+".away"); err != nil {
		t.Fatal(err)
	}
	s.dropJob("hook.job", `{"project": "p", "ref": "refs/heads/main"}`)
	waitFor(t, p, time.Minute, "the second job's build did not end", func() bool {
		return logCount(p, "build finished", "job=hook.job") == 2
	})
	if logCount(p, "build finished", "job=hook.job", "outcome=retry") != 1 {
		t.Fatalf("a job whose build could not resolve its ref was not retried:\n%s", p.stderr())
	}
	if err := os.Rename(repo.Remote+".away", repo.Remote); err != nil {
		t.Fatal(err)
	}
	// The first retry is due 5 s after the attempt (outcome.firstRetry).
	waitFor(t, p, time.Minute, "the retried job did not build the newer commit", func() bool {
		return s.hasBuild("p", "refs/heads/main", newer)
	})
	// The retry waited out its back-off (the first is 5 s): the job's attempt was seen,
	// though the job came back into new/ under its name before any scan saw it gone.
	retried, dispatched := logTimes(p, "build finished", "outcome=retry"), logTimes(p, "dispatched build", "job=hook.job")
	if len(retried) != 1 || len(dispatched) != 3 || dispatched[2].Sub(retried[0]) < 4*time.Second {
		t.Errorf("the retry did not wait for its back-off:\n%s", p.stderr())
	}
	// The webhook delivers the last job again, under the same name: it costs nothing.
	s.dropJob("hook.job", fmt.Sprintf(`{"project": "p", "ref": "refs/heads/main", "commit": %q}`, newer))
	waitFor(t, p, time.Minute, "the redelivery was not dropped", func() bool {
		return logCount(p, "dropped a job", "job=hook.job", "already built") == 1
	})
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}

// logTimes returns the times of the daemon's log lines that contain all of words.
func logTimes(p *process, words ...string) []time.Time {
	var out []time.Time
	for _, line := range strings.Split(p.stderr(), "\n") {
		all := true
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		stamp, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
		if at, err := time.Parse(time.RFC3339Nano, stamp); all && err == nil {
			out = append(out, at)
		}
	}
	return out
}
