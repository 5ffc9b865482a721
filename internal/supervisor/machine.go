package supervisor

import (
	"log/slog"
	"syscall"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/engine"
	"pipelined/internal/outcome"
	"pipelined/internal/procexec"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// Machine is every decision of the daemon, and nothing else: it reads no file, starts no
// process and keeps no timer. Step takes one event and the time, changes the machine's
// state and returns the effects to carry out; Wake says when it wants to be woken next.
// The run loop (run.go) and its executors do the rest. Only the run loop calls it.
type Machine struct {
	set  Settings
	cfg  *projectSet
	mode mode
	now  time.Time
	out  []Effect

	// recovering is set until the claimed jobs of a previous daemon are sorted out: no
	// dispatching meanwhile.
	recovering bool
	deadline   time.Time // set once stopping: the daemon exits then, whatever remains

	jobs jobState
	eng  engineState
	poll pollState
	conf configState
	fwd  deliverState
}

// Settings are the daemon's fixed settings: its command line.
type Settings struct {
	Limit    int           // builds at most at once
	Grace    time.Duration // a canceled build's time to stop
	Interval time.Duration // between two polls of a remote; 0 polls only when asked
	Engines  []engine.Engine
	// EngineCheck: how often an engine running builds is asked whether it still answers
	// (0: engineCheckEvery).
	EngineCheck time.Duration
}

// The daemon's modes: it serves, drains (SIGINT: no new builds, wait for the running ones)
// or stops (SIGTERM, SIGQUIT, a second SIGINT: cancel the running builds); done once it
// may exit.
type mode int

const (
	serving mode = iota
	draining
	stopping
	done
)

// NewMachine returns the machine of a daemon that has just loaded cfg, and the effects of
// its start: recovering the spool, a first scan, the first pass of polls.
func NewMachine(set Settings, cfg *config.Config, now time.Time) (*Machine, []Effect) {
	if set.Limit < 1 {
		set.Limit = 1
	}
	set.Grace = procexec.GraceOr(set.Grace)
	set.EngineCheck = orDefault(set.EngineCheck, engineCheckEvery)
	if len(set.Engines) == 0 {
		set.Engines = []engine.Engine{{Name: engine.Local, Slots: set.Limit}}
	}
	m := &Machine{set: set, cfg: newProjectSet(cfg), now: now, recovering: true}
	m.jobs.init()
	m.eng.init(set.Engines, now)
	m.poll.init(set.Interval)
	m.warn(cfg)
	m.emit(Recover{})
	m.scan()
	m.poll.configure(cfg, now, set.Interval > 0)
	m.startPasses()
	m.emit(Notify{State: []string{"READY=1", m.statusLine()}})
	return m, m.flush()
}

// Step handles one event at now and returns the effects to carry out, in order.
func (m *Machine) Step(ev Event, now time.Time) []Effect {
	m.now = now
	switch ev := ev.(type) {
	case Signaled:
		m.onSignal(ev.Sig)
	case Woke:
		m.onWake()
	case SpoolChanged:
		if ev.Rescan {
			m.retryStuck()
			m.checkOutbox()
		}
		m.scan()
	case ConfigChanged:
		m.conf.debounceUntil = now.Add(reloadDebounce)
	case Scanned:
		m.onScanned(ev)
	case Recovered:
		m.onRecovered(ev)
	case BuildStarted:
		m.onStarted(ev)
	case BuildNotStarted:
		m.onNotStarted(ev)
	case BuildEnded:
		m.onEnded(ev)
	case CancelRecorded:
		m.onCancelRecorded(ev)
	case JobSettled:
		m.onSettled(ev)
	case Reloaded:
		m.onReloaded(ev)
	case EngineAnswered:
		m.onEngineAnswered(ev)
	case PollRequested:
		m.onPollRequested(ev)
	case PassEnded:
		m.onPassEnded(ev)
	case RemoteDone:
		m.onRemoteDone(ev)
	case StatusQueued:
		m.deliver()
	case DeliveryEnded:
		m.onDelivered(ev)
	}
	m.checkDone()
	return m.flush()
}

// Done reports whether the daemon may exit: a drain or a shutdown is complete, or its
// deadline has passed.
func (m *Machine) Done() bool { return m.mode == done }

// Wake is the next time the machine wants a Woke event; zero for none.
func (m *Machine) Wake() time.Time {
	var next time.Time
	for _, t := range []time.Time{m.deadline, m.conf.debounceUntil, m.jobs.wake(m.mode, m.now), m.eng.wake(), m.poll.wake(m.mode), m.fwd.retryAt} {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next
}

// onWake does what is due at now.
func (m *Machine) onWake() {
	if !m.deadline.IsZero() && !m.now.Before(m.deadline) {
		m.pastDeadline()
		return
	}
	if !m.conf.debounceUntil.IsZero() && !m.now.Before(m.conf.debounceUntil) {
		m.conf.debounceUntil = time.Time{}
		m.reload("the configuration file changed")
	}
	m.jobsDue()
	m.enginesDue()
	m.startPasses()
	if due(m.fwd.retryAt, m.now) {
		m.deliver()
	}
}

// onSignal is the signal table of SPEC §8. A signal during start-up does what it does
// later: the machine exists before the daemon reads anything.
func (m *Machine) onSignal(sig syscall.Signal) {
	switch {
	case sig == syscall.SIGHUP:
		m.reload("SIGHUP")
	case sig == syscall.SIGUSR1:
		m.pollNow()
	case sig == syscall.SIGINT && m.mode == serving:
		m.mode = draining
		m.logInfo("draining: no new builds; waiting for the running ones (SIGINT again cancels them)", "running", len(m.jobs.builds))
		m.emit(Notify{State: []string{"STOPPING=1", m.statusLine()}})
		m.stopPolling()
	case (sig == syscall.SIGINT || sig == syscall.SIGTERM || sig == syscall.SIGQUIT) && m.mode < stopping:
		m.mode = stopping
		m.deadline = m.now.Add(exitDeadline(m.set.Grace))
		m.logInfo("stopping: canceling the running builds", "signal", sig.String(), "running", len(m.jobs.builds),
			"deadline", exitDeadline(m.set.Grace).String())
		m.emit(Notify{State: []string{"STOPPING=1", m.statusLine()}})
		m.stopPolling()
		if m.fwd.running && !m.fwd.stopping {
			m.fwd.stopping = true
			m.emit(StopDelivery{})
		}
		for _, b := range m.jobs.sorted() {
			m.cancel(b, outcome.Cancel{Kind: outcome.Stopped, Reason: outcome.StoppedReason})
		}
	}
}

// checkDone ends a drain or a shutdown once nothing is left: no build, no pass, no outcome
// still being carried out.
func (m *Machine) checkDone() {
	if m.mode == serving || m.mode == done {
		return
	}
	// Until the spool is recovered, the builds of the last daemon that still run are not
	// known: a shutdown that ended now would leave them running, unadopted and uncanceled.
	if m.recovering || len(m.jobs.builds) > 0 || len(m.poll.passes) > 0 || len(m.jobs.settling) > 0 {
		return
	}
	if m.fwd.running {
		// The builds are over: the statuses left wait in the outbox for the next start.
		if !m.fwd.stopping {
			m.fwd.stopping = true
			m.emit(StopDelivery{})
		}
		return
	}
	m.mode = done
	m.logInfo("stopped")
}

// pastDeadline ends a shutdown whose builds did not stop in time: whatever is left of them
// is killed (SPEC §8: nothing outlives its build), and the daemon exits.
func (m *Machine) pastDeadline() {
	m.emit(Log{Level: slog.LevelError, Msg: "exit deadline reached, leaving builds behind", Attrs: []any{"running", len(m.jobs.builds)}})
	kill := KillGroups{Signal: syscall.SIGKILL}
	for _, b := range m.jobs.sorted() {
		kill.Groups = append(kill.Groups, b.group)
		if b.name != "" {
			kill.Leftovers = append(kill.Leftovers, Leftover{Name: b.name, Job: b.job})
		}
	}
	m.emit(kill)
	m.mode = done
}

func (m *Machine) emit(e Effect) { m.out = append(m.out, e) }

func (m *Machine) flush() []Effect {
	out := m.out
	m.out = nil
	return out
}

func (m *Machine) logInfo(msg string, attrs ...any) {
	m.emit(Log{Level: slog.LevelInfo, Msg: msg, Attrs: attrs})
}

func (m *Machine) logWarn(msg string, attrs ...any) {
	m.emit(Log{Level: slog.LevelWarn, Msg: msg, Attrs: attrs})
}

func (m *Machine) logError(msg string, attrs ...any) {
	m.emit(Log{Level: slog.LevelError, Msg: msg, Attrs: attrs})
}

// warn logs a configuration's warnings.
func (m *Machine) warn(cfg *config.Config) {
	for _, w := range cfg.Warnings {
		m.logWarn("configuration warning", "problem", w.Error())
	}
}

// statusLine is the STATUS= line for systemd.
func (m *Machine) statusLine() string {
	return statusLine(len(m.jobs.builds), len(m.jobs.queue))
}

// project is the configured project name, or nil.
func (m *Machine) project(name string) *projectView { return m.cfg.Project(name) }

// usesDocker reports whether the project builds images (so its builds may leave
// containers); an unknown project may have.
func (m *Machine) usesDocker(project string) bool {
	p := m.project(project)
	return p == nil || p.Build
}

// earliest returns the earlier of two times, zero meaning none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// jobDesc are the log attributes naming a job's build; a job without a commit builds the
// ref's latest, which its "build finished" line names.
func jobDesc(j spool.Job, name string) []any {
	if j.Commit == "" {
		return []any{"project", j.Project, "ref", j.Ref, "job", name}
	}
	return []any{"project", j.Project, "ref", j.Ref, "commit", workdir.ShortCommit(j.Commit), "job", name}
}
