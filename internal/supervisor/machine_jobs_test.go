package supervisor

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"pipelined/internal/outcome"
)

// TestOneBuildOfARefAtATime: the newer commit starts when the older one's build ends.
func TestOneBuildOfARefAtATime(t *testing.T) {
	h := newHarness(t, "[p]\nremote = /r\nsupersede = False\n", Settings{Limit: 2})
	start := of[StartBuild](h.ready(queued("a", "p", "main", '1'), queued("b", "p", "main", '2')))
	if len(start) != 1 || start[0].Name != "a" {
		t.Fatalf("started %v", start)
	}
	h.started(start[0])
	out := h.ended(start[0].ID, outcome.Success, 0)
	if s := of[StartBuild](out); len(s) != 1 || s[0].Name != "b" {
		t.Errorf("after the first build of the ref: %v", out)
	}
}

// TestAJobClaimedUnderAnotherName: a queued job that reused a running job's name is
// claimed under a fresh one; both builds are tracked apart.
func TestAJobClaimedUnderAnotherName(t *testing.T) {
	h := newHarness(t, "[p]\nremote = /r\nserialize = False\n", Settings{Limit: 2})
	start := of[StartBuild](h.ready(queued("x.job", "p", "main", '1')))[0]
	h.started(start)
	second := of[StartBuild](h.step(Scanned{Seq: h.m.jobs.seq, Queue: []Queued{queued("x.job", "p", "dev", '2')}}))
	if len(second) != 1 {
		t.Fatalf("the second job of that name did not start: %v", h.out)
	}
	h.step(BuildStarted{ID: second[0].ID, Name: "fresh.job"})
	if b := h.m.jobs.builds[second[0].ID]; b.name != "fresh.job" || h.m.jobs.builds[start.ID].name != "x.job" {
		t.Errorf("builds: %+v", h.m.jobs.builds)
	}
}

// TestAnOutcomeThatCannotBeCarriedOutIsTriedAgain at the next rescan.
func TestAnOutcomeThatCannotBeCarriedOutIsTriedAgain(t *testing.T) {
	h := newHarness(t, oneProject, Settings{})
	start := of[StartBuild](h.ready(queued("a", "p", "main", '1')))[0]
	h.started(start)
	h.ended(start.ID, outcome.Success, 0)
	out := h.step(JobSettled{Name: "a", Outcome: outcome.Done, Err: errors.New("read-only file system"), InCur: true})
	if !logged(out, "cannot carry out a job's outcome; trying again every minute") {
		t.Errorf("not said: %v", out)
	}
	if s := of[Settle](h.step(SpoolChanged{Rescan: true})); len(s) != 1 || s[0].Name != "a" {
		t.Errorf("the rescan did not try again: %v", s)
	}
	if out := h.step(JobSettled{Name: "a", Outcome: outcome.Done}); !logged(out, "a job left in cur/ is settled now") {
		t.Errorf("the second try: %v", out)
	}
}

// TestAttemptsAfterTheLastGoToBad: the fifth attempt sets the job aside, and the log line
// says where it went once it is there.
func TestAttemptsAfterTheLastGoToBad(t *testing.T) {
	h := newHarness(t, oneProject, Settings{})
	q := queued("a", "p", "main", '1')
	for i := 0; i < outcome.MaxAttempts-1; i++ {
		q.Job.Attempts = outcome.WithAttempt(q.Job.Attempts, h.now.Add(-time.Hour), fmt.Sprint("attempt ", i))
	}
	start := of[StartBuild](h.ready(q))[0]
	h.started(start)
	out := h.step(BuildEnded{ID: start.ID, Facts: Facts{Ending: outcome.Ending{Exited: true, Code: 75}}})
	s := of[Settle](out)
	if len(s) != 1 || s[0].Outcome != outcome.Retry || len(s[0].Attempts) != outcome.MaxAttempts {
		t.Fatalf("the last attempt: %v", s)
	}
	if logged(out, "build finished") {
		t.Error("logged before the job was set aside")
	}
	if len(of[Log](h.step(SpoolChanged{}))) != 0 {
		t.Error("logged before the job was set aside")
	}
	out = h.step(JobSettled{Name: "a", Outcome: outcome.Retry, Dest: "/w/.pipelined/spool/bad/a"})
	if !logged(out, "build finished") || !strings.Contains(fmt.Sprint(of[Log](out)[0].Attrs), "/w/.pipelined/spool/bad/a") {
		t.Errorf("the line: %v", of[Log](out))
	}
}
