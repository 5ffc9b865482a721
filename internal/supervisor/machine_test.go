package supervisor

import (
	"strings"
	"testing"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/config"
	"pipelined/internal/outcome"
	"pipelined/internal/procexec"
	"pipelined/internal/spool"
)

// The machine's tests walk events through it and read the effects it asks for: no file,
// process or timer is involved, so every sequence is exact and instant.

// harness drives a machine with a clock of its own.
type harness struct {
	t   *testing.T
	m   *Machine
	now time.Time
	out []Effect // every effect so far
}

func newHarness(t *testing.T, cfgText string, set Settings) *harness {
	t.Helper()
	cfg, err := config.Parse(strings.NewReader(cfgText), "test.ini")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, now: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
	var effects []Effect
	h.m, effects = NewMachine(set, cfg, h.now)
	h.out = append(h.out, effects...)
	return h
}

// step hands the machine an event and returns the effects of that event alone.
func (h *harness) step(ev Event) []Effect {
	h.t.Helper()
	effects := h.m.Step(ev, h.now)
	h.out = append(h.out, effects...)
	return effects
}

// advance moves the clock to the machine's next wake-up (at least by d) and wakes it.
func (h *harness) advance(d time.Duration) []Effect {
	h.t.Helper()
	h.now = h.now.Add(d)
	return h.step(Woke{})
}

// recovered ends start-up with an empty cur/, and a scan showing queue.
func (h *harness) ready(queue ...Queued) []Effect {
	h.t.Helper()
	out := h.step(Recovered{})
	return append(out, h.step(Scanned{Seq: h.m.jobs.seq, Queue: queue})...)
}

func of[T Effect](effects []Effect) []T {
	var out []T
	for _, e := range effects {
		if t, ok := e.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

func logged(effects []Effect, msg string) bool {
	for _, l := range of[Log](effects) {
		if l.Msg == msg {
			return true
		}
	}
	return false
}

func queued(name, project, ref string, c byte) Queued {
	return Queued{Name: name, Job: spool.Job{Project: project, Ref: "refs/heads/" + ref, Commit: strings.Repeat(string(c), 40), Source: "webhook"}}
}

// started reports a StartBuild as started, claimed under its own name.
func (h *harness) started(s StartBuild) []Effect {
	return h.step(BuildStarted{ID: s.ID, Name: s.Name, Group: procexec.Group{PGID: 1000 + s.ID, Start: 1}})
}

// ended reports a build's end with its result recorded.
func (h *harness) ended(id int, result string, code int) []Effect {
	st := &buildlog.Status{Project: "p", Ref: "refs/heads/main", Result: result}
	return h.step(BuildEnded{ID: id, Facts: Facts{Ending: outcome.Ending{Exited: true, Code: code, Result: result}, Dir: "/w/p/x", Status: st}})
}

const oneProject = "[p]\nremote = /r\nbranches = main\n"

func TestNothingIsDispatchedBeforeRecovery(t *testing.T) {
	h := newHarness(t, oneProject, Settings{})
	if len(of[Recover](h.out)) != 1 || len(of[Scan](h.out)) != 1 {
		t.Fatalf("start-up asked for %v", h.out)
	}
	if out := h.step(Scanned{Seq: h.m.jobs.seq, Queue: []Queued{queued("a", "p", "main", '1')}}); len(of[StartBuild](out)) != 0 {
		t.Errorf("a job started before the spool was recovered: %v", out)
	}
	if out := h.step(Recovered{}); len(of[StartBuild](out)) != 1 {
		t.Errorf("recovery did not dispatch the queue: %v", out)
	}
}

func TestAStaleScanIsIgnored(t *testing.T) {
	h := newHarness(t, oneProject, Settings{})
	h.ready()
	seq := h.m.jobs.seq
	h.m.changed() // the spool changed (a job settled) after that scan was asked for
	if out := h.step(Scanned{Seq: seq, Queue: []Queued{queued("a", "p", "main", '1')}}); len(of[StartBuild](out)) != 0 {
		t.Errorf("a stale scan dispatched: %v", out)
	}
}
