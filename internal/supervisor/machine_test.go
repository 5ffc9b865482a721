package supervisor

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/config"
	"pipelined/internal/engine"
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

// TestPassesPollDueRemotesAndSkipOnesInFlight: a remote still being asked is not asked
// again by the next pass; a hand poll of one project polls its remote alone.
func TestPassesPollDueRemotesAndSkipOnesInFlight(t *testing.T) {
	h := newHarness(t, "[a]\nremote = /ra\nbranches = main\n\n[b]\nremote = /rb\nbranches = main\n", Settings{Interval: time.Minute})
	first := of[StartPass](h.out)
	if len(first) != 1 || !first[0].All {
		t.Fatalf("the first pass: %v", first)
	}
	h.ready()
	// /rb hangs; /ra answers at once in a pass of its own after the interval.
	h.step(PassEnded{ID: first[0].ID})
	second := of[StartPass](h.advance(time.Minute))
	if len(second) != 1 || !second[0].All {
		t.Fatalf("after a minute: %v", second)
	}
	if out := h.advance(time.Minute); len(of[StartPass](out)) != 0 {
		t.Errorf("remotes in flight were asked again: %v", out)
	}
	// Both were due again meanwhile: the end of the pass starts the next one at once.
	third := of[StartPass](h.step(PassEnded{ID: second[0].ID}))
	if len(third) != 1 || !third[0].All {
		t.Fatalf("after the hung pass: %v", third)
	}
	h.step(PassEnded{ID: third[0].ID})
	// A poll by hand of one project: its remote alone, for it alone.
	h.step(Signaled{Sig: syscall.SIGUSR1})
	fourth := of[StartPass](h.step(PollRequested{Projects: map[string]bool{"a": true}}))
	if len(fourth) != 1 || fourth[0].All || strings.Join(fourth[0].Projects, ",") != "a" {
		t.Errorf("a poll of a: %v", fourth)
	}
}

// TestAReloadThatChangesNothingSaysNothing: an edit and the SIGHUP after it are one line.
func TestAReloadThatChangesNothingSaysNothing(t *testing.T) {
	h := newHarness(t, oneProject, Settings{})
	h.ready()
	cfg, _ := config.Parse(strings.NewReader(oneProject), "test.ini")
	h.step(ConfigChanged{})
	h.step(Signaled{Sig: syscall.SIGHUP})
	out := h.step(Reloaded{Why: "SIGHUP", Cfg: cfg})
	out = append(out, h.advance(time.Second)...)
	out = append(out, h.step(Reloaded{Why: "the configuration file changed", Cfg: cfg, Unchanged: true})...)
	n := 0
	for _, l := range of[Log](out) {
		if l.Msg == "configuration reloaded" {
			n++
		}
		if l.Level > slog.LevelInfo {
			t.Errorf("logged %v", l)
		}
	}
	if n != 1 {
		t.Errorf("%d lines say the configuration was reloaded, want 1", n)
	}
}

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
