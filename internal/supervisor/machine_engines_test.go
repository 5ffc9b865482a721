package supervisor

import (
	"errors"
	"testing"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/engine"
	"pipelined/internal/outcome"
)

// TestARetryDueWhileTheEngineIsGone waits for the engine, then starts.
func TestARetryDueWhileTheEngineIsGone(t *testing.T) {
	h := newHarness(t, "[d]\nremote = /r\nbuild = True\n", Settings{})
	retry := queued("a", "d", "main", '1')
	retry.Job.Attempts = outcome.WithAttempt(nil, h.now, "the Docker engine stopped answering")
	h.ready(retry)
	ask := of[AskEngine](h.out)
	if len(ask) != 1 {
		t.Fatalf("the engine was not asked: %v", h.out)
	}
	h.step(EngineAnswered{Name: ask[0].Engine.Name, Err: errors.New("Cannot connect to the Docker daemon")})
	if out := h.advance(time.Minute); len(of[StartBuild](out)) != 0 {
		t.Errorf("the retry started with its engine gone: %v", out)
	}
	out := h.step(EngineAnswered{Name: ask[0].Engine.Name})
	if s := of[StartBuild](out); len(s) != 1 || s[0].Engine.Name != engine.Local {
		t.Errorf("the engine came back and the retry did not start: %v", out)
	}
}

// TestAnEngineThatStopsAnsweringInterruptsItsBuilds, whose jobs are retried.
func TestAnEngineThatStopsAnsweringInterruptsItsBuilds(t *testing.T) {
	h := newHarness(t, "[d]\nremote = /r\nbuild = True\n", Settings{})
	h.ready()
	h.step(EngineAnswered{Name: engine.Local})
	start := of[StartBuild](h.step(Scanned{Seq: h.m.jobs.seq, Queue: []Queued{queued("a", "d", "main", '1')}}))[0]
	h.started(start)
	check := of[AskEngine](h.advance(engineCheckEvery))
	if len(check) != 1 || !check[0].Check {
		t.Fatalf("no check of the engine in use: %v", check)
	}
	out := h.step(EngineAnswered{Name: engine.Local, Err: errors.New("no answer to docker version within 15s"), Check: true})
	c := of[CancelBuild](out)
	if len(c) != 1 || c[0].Cancel.Kind != outcome.Interrupted {
		t.Fatalf("the build was not interrupted: %v", out)
	}
	st := &buildlog.Status{Project: "d", Ref: "refs/heads/main", Result: outcome.Canceled}
	out = h.step(BuildEnded{ID: start.ID, Facts: Facts{Ending: outcome.Ending{Exited: true, Code: 143, Result: outcome.Canceled}, Status: st}})
	if s := of[Settle](out); len(s) != 1 || s[0].Outcome != outcome.Retry || len(s[0].Attempts) != 1 {
		t.Errorf("the interrupted build's job: %v", s)
	}
}

// TestTheEngineCheckFollowsItsSetting (--engine-check): a busy engine is asked after
// Settings.EngineCheck, not before.
func TestTheEngineCheckFollowsItsSetting(t *testing.T) {
	h := newHarness(t, "[d]\nremote = /r\nbuild = True\n", Settings{EngineCheck: 5 * time.Second})
	h.ready()
	h.step(EngineAnswered{Name: engine.Local})
	start := of[StartBuild](h.step(Scanned{Seq: h.m.jobs.seq, Queue: []Queued{queued("a", "d", "main", '1')}}))[0]
	h.started(start)
	if early := of[AskEngine](h.advance(4 * time.Second)); len(early) != 0 {
		t.Fatalf("the engine was checked before its time: %v", early)
	}
	if check := of[AskEngine](h.advance(time.Second)); len(check) != 1 || !check[0].Check {
		t.Fatalf("no check of the engine in use after 5 s: %v", check)
	}
}
