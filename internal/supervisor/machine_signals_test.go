package supervisor

import (
	"syscall"
	"testing"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/outcome"
)

// TestSignalsInEachMode walks every signal through every mode.
func TestSignalsInEachMode(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sigs  []syscall.Signal
		mode  mode
		check func(t *testing.T, h *harness, last []Effect)
	}{
		{"SIGHUP reloads", []syscall.Signal{syscall.SIGHUP}, serving, func(t *testing.T, h *harness, last []Effect) {
			if len(of[Reload](last)) != 1 {
				t.Errorf("no reload: %v", last)
			}
		}},
		{"SIGUSR1 reads the poll requests", []syscall.Signal{syscall.SIGUSR1}, serving, func(t *testing.T, h *harness, last []Effect) {
			if len(of[TakePollRequests](last)) != 1 {
				t.Errorf("no poll: %v", last)
			}
		}},
		{"SIGINT drains", []syscall.Signal{syscall.SIGINT}, draining, nil},
		{"SIGTERM stops", []syscall.Signal{syscall.SIGTERM}, stopping, nil},
		{"SIGQUIT stops", []syscall.Signal{syscall.SIGQUIT}, stopping, nil},
		{"SIGINT twice stops", []syscall.Signal{syscall.SIGINT, syscall.SIGINT}, stopping, nil},
		{"SIGINT then SIGTERM stops", []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}, stopping, nil},
		{"SIGHUP during a drain still reloads", []syscall.Signal{syscall.SIGINT, syscall.SIGHUP}, draining, func(t *testing.T, h *harness, last []Effect) {
			if len(of[Reload](last)) != 1 {
				t.Errorf("no reload during the drain: %v", last)
			}
		}},
		{"SIGUSR1 during a drain polls nothing", []syscall.Signal{syscall.SIGINT, syscall.SIGUSR1}, draining, func(t *testing.T, h *harness, last []Effect) {
			if len(last) != 0 {
				t.Errorf("a poll during the drain: %v", last)
			}
		}},
		{"SIGTERM then SIGINT stays stopping", []syscall.Signal{syscall.SIGTERM, syscall.SIGINT}, stopping, func(t *testing.T, h *harness, last []Effect) {
			if len(last) != 0 {
				t.Errorf("a second stop signal did more: %v", last)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, oneProject, Settings{Interval: time.Minute})
			h.ready()
			out := h.started(of[StartBuild](h.step(Scanned{Seq: h.m.jobs.seq, Queue: []Queued{queued("a", "p", "main", '1')}}))[0])
			_ = out
			var last []Effect
			for _, sig := range tc.sigs {
				last = h.step(Signaled{Sig: sig})
			}
			if h.m.mode != tc.mode {
				t.Errorf("mode %d, want %d", h.m.mode, tc.mode)
			}
			if tc.mode == stopping && len(of[CancelBuild](h.out)) != 1 {
				t.Errorf("stopping canceled %d builds, want 1", len(of[CancelBuild](h.out)))
			}
			if tc.check != nil {
				tc.check(t, h, last)
			}
		})
	}
}

// TestADrainWaitsForTheBuildsThenEnds: SIGINT starts nothing new, lets the running build
// finish, and the daemon is done once its job is settled.
func TestADrainWaitsForTheBuildsThenEnds(t *testing.T) {
	h := newHarness(t, oneProject, Settings{})
	start := of[StartBuild](h.ready(queued("a", "p", "main", '1'), queued("b", "p", "dev", '2')))
	if len(start) != 1 {
		t.Fatalf("started %v", start)
	}
	h.started(start[0])
	h.step(Signaled{Sig: syscall.SIGINT})
	out := h.ended(start[0].ID, outcome.Success, 0)
	if len(of[StartBuild](out)) != 0 || h.m.Done() {
		t.Fatalf("after the build: %v, done %v", out, h.m.Done())
	}
	settle := of[Settle](out)
	if len(settle) != 1 || settle[0].Outcome != outcome.Done {
		t.Fatalf("settled %v", settle)
	}
	h.step(JobSettled{Name: "a", Outcome: outcome.Done})
	if !h.m.Done() {
		t.Error("the drain did not end")
	}
}

// TestSIGTERMWhileABuildStarts: the build is canceled the moment it has started.
func TestSIGTERMWhileABuildStarts(t *testing.T) {
	h := newHarness(t, oneProject, Settings{})
	start := of[StartBuild](h.ready(queued("a", "p", "main", '1')))[0]
	if out := h.step(Signaled{Sig: syscall.SIGTERM}); len(of[CancelBuild](out)) != 0 {
		t.Errorf("a build that has no process yet was signaled: %v", out)
	}
	out := h.started(start)
	c := of[CancelBuild](out)
	if len(c) != 1 || c[0].Cancel.Kind != outcome.Stopped || c[0].Name != "a" {
		t.Fatalf("the build that started during the shutdown: %v", out)
	}
}

// TestAnOutcomeAfterTheShutdownBegan: a build canceled by the shutdown is requeued; one
// whose success_callback finished (exit 0) while the daemon stopped is done, not built again.
func TestAnOutcomeAfterTheShutdownBegan(t *testing.T) {
	for _, tc := range []struct {
		result string
		code   int
		want   outcome.Outcome
	}{
		{outcome.Canceled, 143, outcome.Requeue},
		{outcome.Success, 0, outcome.Done},
		{outcome.Running, -1, outcome.Requeue}, // killed after the grace period
	} {
		h := newHarness(t, oneProject, Settings{})
		start := of[StartBuild](h.ready(queued("a", "p", "main", '1')))[0]
		h.started(start)
		h.step(Signaled{Sig: syscall.SIGTERM})
		out := h.ended(start.ID, tc.result, tc.code)
		settle := of[Settle](out)
		if len(settle) != 1 || settle[0].Outcome != tc.want {
			t.Errorf("%s after SIGTERM: %v, want %v", tc.result, settle, tc.want)
			continue
		}
		if tc.result == outcome.Running && (settle[0].Dead == nil || settle[0].Dead.Status.Result != outcome.Canceled) {
			t.Errorf("a build killed at the shutdown is not recorded canceled: %+v", settle[0].Dead)
		}
		h.step(JobSettled{Name: "a", Outcome: tc.want})
		if !h.m.Done() {
			t.Errorf("%s: not done once nothing is left", tc.result)
		}
	}
}

// TestTheExitDeadlineKillsWhatIsLeft: a build that ignores SIGTERM is killed at the
// deadline, with what its steps left, and the daemon is done whatever remains.
func TestTheExitDeadlineKillsWhatIsLeft(t *testing.T) {
	h := newHarness(t, oneProject, Settings{Grace: 2 * time.Second})
	start := of[StartBuild](h.ready(queued("a", "p", "main", '1')))[0]
	h.started(start)
	h.step(Signaled{Sig: syscall.SIGTERM})
	wake := h.m.Wake()
	if got := wake.Sub(h.now); got != buildKillAfter(2*time.Second) {
		t.Errorf("first wake-up after %v, want the build's kill at %v", got, buildKillAfter(2*time.Second))
	}
	if kill := of[KillGroups](h.advance(wake.Sub(h.now))); len(kill) != 1 || kill[0].Groups[0].PGID != 1000+start.ID {
		t.Errorf("the build was not killed after its grace: %v", kill)
	}
	out := h.advance(h.m.Wake().Sub(h.now))
	kill := of[KillGroups](out)
	if !h.m.Done() || len(kill) != 1 || len(kill[0].Leftovers) != 1 || !logged(out, "exit deadline reached, leaving builds behind") {
		t.Errorf("at the deadline: done %v, %v", h.m.Done(), out)
	}
	if got := h.now.Sub(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)); got+shutdownBound > 3*time.Second {
		t.Errorf("the daemon exits %v after SIGTERM, past the grace plus a second", got+shutdownBound)
	}
}

// TestSIGTERMBeforeRecoveryStillStopsTheAdoptedBuilds: a SIGTERM that comes while the
// spool is being recovered does not end the daemon before it knows which builds of the last
// daemon still run: they are adopted, then canceled, and their jobs kept.
func TestSIGTERMBeforeRecoveryStillStopsTheAdoptedBuilds(t *testing.T) {
	h := newHarness(t, oneProject, Settings{})
	h.step(Signaled{Sig: syscall.SIGTERM})
	if h.m.Done() {
		t.Fatal("the daemon exits before it recovered the spool")
	}
	job := queued("a", "p", "main", '1').Job
	out := h.step(Recovered{Jobs: []Claimed{{Name: "a", Job: job, Running: true, Status: &buildlog.Status{PID: 4242, PIDStart: 7}}}})
	if c := of[CancelBuild](out); len(c) != 1 || c[0].Cancel.Kind != outcome.Stopped {
		t.Fatalf("the adopted build was not canceled: %v", out)
	}
	if h.m.Done() {
		t.Error("the daemon exits while the adopted build runs")
	}
}
