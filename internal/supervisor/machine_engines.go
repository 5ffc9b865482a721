package supervisor

import (
	"time"

	"pipelined/internal/engine"
	"pipelined/internal/git"
	"pipelined/internal/outcome"
)

// engineState is the pool of Docker engines builds run on. An engine is asked `docker
// version` (bounded, off the loop) first when a project needs Docker, again with back-off
// while it does not answer, and every Settings.EngineCheck while builds run on it: one that
// stops answering leaves the pool, and its builds are stopped and retried elsewhere.
type engineState struct {
	pool    *engine.Pool
	probed  bool                     // some project needed Docker: every engine was asked
	backoff map[string]time.Duration // engines that did not answer: the next delay
	askAt   map[string]time.Time     // engines to ask again then
	asking  map[string]bool          // a question is out
	checkAt time.Time                // the next check of the engines builds run on
	warned  map[string]bool          // projects pinned to unknown engines, warned about
}

func (e *engineState) init(engines []engine.Engine, now time.Time) {
	e.pool = engine.NewPool(engines, now)
	e.backoff = map[string]time.Duration{}
	e.askAt = map[string]time.Time{}
	e.asking = map[string]bool{}
	e.warned = map[string]bool{}
}

func (e *engineState) wake() time.Time {
	t := e.checkAt
	for _, at := range e.askAt {
		t = earliest(t, at)
	}
	return t
}

// enginesDue asks the engines whose time has come.
func (m *Machine) enginesDue() {
	e := &m.eng
	for _, name := range sortedKeys(e.askAt) {
		if due(e.askAt[name], m.now) {
			delete(e.askAt, name)
			m.askEngine(name, false)
		}
	}
	if due(e.checkAt, m.now) {
		e.checkAt = time.Time{}
		m.checkEngines()
	}
}

func (m *Machine) askEngine(name string, check bool) {
	if m.eng.asking[name] {
		return
	}
	if eng, ok := m.eng.pool.Get(name); ok {
		m.eng.asking[name] = true
		m.emit(AskEngine{Engine: eng, Check: check})
	}
}

// probeEngines asks every engine, once some project builds images: without one, pipelined
// never talks to Docker at all, and a hung or missing engine costs nothing.
func (m *Machine) probeEngines() {
	if m.eng.probed || !m.anyDocker() {
		return
	}
	m.eng.probed = true
	for _, eng := range m.eng.pool.Engines() {
		m.askEngine(eng.Name, false)
	}
}

func (m *Machine) anyDocker() bool {
	return m.cfg.anyDocker
}

func (m *Machine) onEngineAnswered(ev EngineAnswered) {
	m.eng.asking[ev.Name] = false
	if ev.Check {
		m.onEngineChecked(ev)
		return
	}
	e := &m.eng
	eng, _ := e.pool.Get(ev.Name)
	if ev.Err == nil {
		if e.pool.SetUp(ev.Name, true, "", m.now) {
			m.logInfo("Docker engine answers: in the pool", "engine", ev.Name, "host", git.MaskURL(eng.Host), "slots", eng.Slots)
			if !m.recovering {
				m.cleanEngine(eng)
			}
		}
		delete(e.backoff, ev.Name)
		m.publishEngines()
		m.dispatch()
		return
	}
	delay := min(2*e.backoff[ev.Name], engineRetryMax)
	if delay == 0 {
		delay = time.Second
	}
	e.backoff[ev.Name] = delay
	if e.pool.SetUp(ev.Name, false, ev.Err.Error(), m.now) || delay == time.Second {
		m.logWarn("Docker engine does not answer: out of the pool, asking again with back-off", "engine", ev.Name,
			"host", git.MaskURL(eng.Host), "error", ev.Err.Error(), "retry_in", delay.String())
	}
	e.askAt[ev.Name] = m.now.Add(delay)
	m.publishEngines()
	m.dispatch() // it has answered once now, if only with a failure: the others may be picked
}

// engineFailed takes an engine a build reported down out of the pool, and asks it again.
func (m *Machine) engineFailed(name, why string) {
	eng, ok := m.eng.pool.Get(name)
	if !ok {
		return
	}
	if m.eng.pool.SetUp(name, false, why, m.now) {
		m.logWarn("Docker engine failed a build: out of the pool until it answers", "engine", name, "host", git.MaskURL(eng.Host))
		m.publishEngines()
		m.eng.askAt[name] = m.now.Add(time.Second)
	}
}

// checkEngines asks every engine that builds run on whether it still answers, and keeps
// checking while builds run on one.
func (m *Machine) checkEngines() {
	inUse := false
	for _, st := range m.eng.pool.States() {
		if st.InUse == 0 || !st.Up {
			continue
		}
		inUse = true
		m.askEngine(st.Name, true)
	}
	if inUse {
		m.eng.checkAt = m.now.Add(m.set.EngineCheck)
	}
}

// onEngineChecked takes an engine that stopped answering out of the pool and stops the
// builds on it, whose jobs are retried elsewhere.
func (m *Machine) onEngineChecked(ev EngineAnswered) {
	if ev.Err == nil || m.mode == done {
		return
	}
	reason := "the Docker engine " + ev.Name + " stopped answering: " + ev.Err.Error()
	m.engineFailed(ev.Name, reason)
	for _, b := range m.jobs.sorted() {
		if b.engine != ev.Name || b.cancel.Kind == outcome.Withdrawn {
			continue
		}
		m.logWarn("stopping a build on an engine that stopped answering; its job is retried", "project", b.job.Project,
			"ref", b.job.Ref, "job", b.name, "engine", ev.Name)
		m.cancel(b, outcome.Cancel{Kind: outcome.Interrupted, Reason: reason})
	}
}

// takeEngine and releaseEngine count a build on its engine.
func (m *Machine) takeEngine(name string) {
	if name == "" {
		return
	}
	m.eng.pool.Take(name)
	if m.eng.checkAt.IsZero() {
		m.eng.checkAt = m.now.Add(m.set.EngineCheck)
	}
	m.publishEngines()
}

func (m *Machine) releaseEngine(name string) {
	if name == "" {
		return
	}
	m.eng.pool.Release(name)
	m.publishEngines()
}

// cleanEngine removes the containers on an engine that has just come up that no running
// build owns: at start, and after it was down (a build it failed may have left one).
func (m *Machine) cleanEngine(eng engine.Engine) {
	var running []string
	for _, b := range m.jobs.sorted() {
		if b.name != "" {
			running = append(running, b.name)
		}
	}
	m.emit(CleanEngine{Engine: eng, Running: running})
}

// publishEngines makes the pool's state readable by `pipelined status`.
func (m *Machine) publishEngines() {
	m.emit(PublishEngines{States: m.eng.pool.States()})
	m.emit(RefreshPages{})
}

// warnUnknownEngines says, once per project, that a project's jobs wait for engines the
// daemon was not given.
func (m *Machine) warnUnknownEngines() {
	for _, q := range m.jobs.queue {
		p := m.project(q.Job.Project)
		if p == nil || !p.Build || m.eng.warned[p.Name] {
			continue
		}
		if names := p.EngineNames(); !m.eng.pool.Known(names) {
			m.eng.warned[p.Name] = true
			m.logWarn("a project's jobs wait for Docker engines pipelined was not given (--engine NAME=DOCKER_HOST)",
				"project", p.Name, "engines", p.Engines)
		}
	}
}
