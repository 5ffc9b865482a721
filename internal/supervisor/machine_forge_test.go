package supervisor

import (
	"pipelined/internal/forge"
	"pipelined/internal/spool"
	"strings"
	"syscall"
	"testing"

	"pipelined/internal/outcome"
)

// TestStatusesAreDeliveredOneDeliveryAtATime: the daemon queues its own statuses (a retry)
// and runs one delivery at a time, again when statuses came meanwhile; a configuration
// without a forge delivers nothing.
func TestStatusesAreDeliveredOneDeliveryAtATime(t *testing.T) {
	h := newHarness(t, "[p]\nremote = https://git.example.org/o/p.git\nforge = gitea\nforge.token_env = T\n", Settings{})
	start := of[StartBuild](h.ready(queued("a", "p", "main", '1')))[0]
	if len(of[StartDelivery](h.out)) != 1 {
		t.Fatalf("start-up did not deliver what the last daemon left: %v", h.out)
	}
	h.started(start)
	out := h.step(BuildEnded{ID: start.ID, Facts: Facts{Ending: outcome.Ending{Exited: true, Code: 75}}})
	if q := of[QueueStatus](out); len(q) != 1 || !strings.HasPrefix(q[0].Record.Description, "retry 1 of 5") {
		t.Errorf("the retry was not reported: %v", out)
	}
	if len(of[StartDelivery](out)) != 0 {
		t.Errorf("a second delivery started beside the first: %v", out)
	}
	h.step(StatusQueued{})
	if out := h.step(DeliveryEnded{}); len(of[StartDelivery](out)) != 1 {
		t.Errorf("statuses that came during a delivery were not delivered after it: %v", out)
	}
	h.step(JobSettled{Name: "a", Outcome: outcome.Retry, Queued: "a"})
	h.step(StatusQueued{}) // a status comes while the delivery runs
	// A drain stops the delivery once nothing else runs, and starts none after it.
	if out := h.step(Signaled{Sig: syscall.SIGINT}); h.m.Done() || len(of[StopDelivery](out)) != 1 {
		t.Errorf("the drain with a delivery running: done %v, %v", h.m.Done(), out)
	}
	if out := h.step(DeliveryEnded{}); !h.m.Done() || len(of[StartDelivery](out)) != 0 {
		t.Errorf("the drain once the delivery ended: done %v, %v", h.m.Done(), out)
	}

	plain := newHarness(t, oneProject, Settings{})
	start = of[StartBuild](plain.ready(queued("a", "p", "main", '1')))[0]
	plain.started(start)
	plain.ended(start.ID, outcome.Success, 0)
	if len(of[StartDelivery](plain.out)) != 0 || len(of[QueueStatus](plain.out)) != 0 {
		t.Errorf("a configuration without a forge delivered: %v", plain.out)
	}
}

// TestARescanLooksAtTheOutbox: the statuses of a pipeline-build run by hand beside the
// daemon wait in the outbox with no event of the daemon's; each rescan looks for them,
// unless a delivery runs (it reads the outbox itself) or no project reports to a forge.
func TestARescanLooksAtTheOutbox(t *testing.T) {
	h := newHarness(t, "[p]\nremote = https://git.example.org/o/p.git\nforge = gitea\nforge.token_env = T\n", Settings{})
	h.ready()
	if out := h.step(SpoolChanged{Rescan: true}); len(of[CheckOutbox](out)) != 0 {
		t.Errorf("the outbox was looked at while the start-up's delivery runs: %v", out)
	}
	h.step(DeliveryEnded{})
	if out := h.step(SpoolChanged{}); len(of[CheckOutbox](out)) != 0 {
		t.Errorf("a hint of the spool looked at the outbox: %v", out)
	}
	if out := h.step(SpoolChanged{Rescan: true}); len(of[CheckOutbox](out)) != 1 {
		t.Errorf("a rescan did not look at the outbox: %v", out)
	}
	if out := h.step(StatusQueued{}); len(of[StartDelivery](out)) != 1 {
		t.Errorf("statuses found waiting were not delivered: %v", out)
	}

	plain := newHarness(t, oneProject, Settings{})
	plain.ready()
	if out := plain.step(SpoolChanged{Rescan: true}); len(of[CheckOutbox](out)) != 0 {
		t.Errorf("a configuration without a forge looked at the outbox: %v", out)
	}
}

// TestASupersededJobThatShowedARetryIsReportedCanceled: a job waiting for its retry shows
// "retry 1 of 5" (pending) on the forge; superseded in the queue before the retry, it gets
// its final status, canceled, rather than staying pending for ever. A superseded job that
// never ran showed nothing, and gets nothing.
func TestASupersededJobThatShowedARetryIsReportedCanceled(t *testing.T) {
	h := newHarness(t, "[p]\nremote = https://git.example.org/o/p.git\nforge = gitea\nforge.token_env = T\n", Settings{})
	retried := queued("a", "p", "main", '1')
	retried.Job.Attempts = []spool.Attempt{{At: h.now, Reason: "the build process died"}}
	out := h.ready(retried, queued("b", "p", "main", '2'), queued("c", "p", "dev", '3'), queued("d", "p", "dev", '4'))
	if len(of[Drop](out)) != 2 {
		t.Fatalf("want a and c dropped: %v", out)
	}
	q := of[QueueStatus](out)
	if len(q) != 1 || q[0].Record.Commit != strings.Repeat("1", 40) || q[0].Record.State != forge.Canceled || q[0].Record.Description != "superseded by 22222222" {
		t.Errorf("want one canceled status, of a: %+v", q)
	}
}
