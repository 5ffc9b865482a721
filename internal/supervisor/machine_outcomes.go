package supervisor

import (
	"log/slog"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/outcome"
	"pipelined/internal/procexec"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// What becomes of a job once its build has ended (SPEC §5.1): decided here, carried out by
// the spool executor (Settle), said in one log line once it is done; and what a previous
// daemon left in spool/cur/, sorted out at start-up.

func (m *Machine) onEnded(ev BuildEnded) {
	j := &m.jobs
	b := j.builds[ev.ID]
	if b == nil {
		return
	}
	delete(j.builds, ev.ID)
	m.releaseEngine(b.engine)
	if st := ev.Facts.Status; st != nil && st.EngineDown && b.engine != "" {
		m.engineFailed(b.engine, st.Reason)
	}
	m.decideEnd(b.name, b.job, ev.Facts, b.cancel, m.now.Sub(b.started))
	m.deliver() // the build wrote its statuses
	m.dispatch()
	if len(j.builds) == 0 {
		m.emit(FreeMemory{}) // idle again: hand back what the builds' bookkeeping took
	}
}

// decideEnd decides what becomes of the job of a build whose process is gone (SPEC §5.1),
// corrects the build.json of a build that died before it recorded a result, and asks for
// the outcome to be carried out.
func (m *Machine) decideEnd(name string, job spool.Job, f Facts, issued outcome.Cancel, took time.Duration) {
	e := f.Ending
	if issued.Kind > e.Cancel.Kind {
		e.Cancel = issued
	}
	e.Stopping = m.mode == stopping
	out, why := outcome.Decide(e)
	s := Settle{Name: name, Outcome: out, Job: job}
	st := f.Status
	if st != nil && st.Result == outcome.Running {
		dead := *st
		dead.Finished, dead.Groups = m.now.UTC(), nil
		if out == outcome.Requeue {
			dead.Result, dead.Reason = outcome.Canceled, "killed after the grace period while pipelined stopped"
		} else {
			dead.Result, dead.Reason, dead.Retry = outcome.Failed, why, out == outcome.Retry
		}
		s.Dead = &RecordDeadBuild{Dir: f.Dir, Status: &dead}
		s.RemoveContainers = dead.Container != "" || dead.Image != "" || m.usesDocker(dead.Project)
		st = &dead
	}
	m.settle(s, f, st, why, took)
}

// settle logs the one line of SPEC §5.1 for an ended build — project, ref, commit, result
// and outcome, and unless it succeeded, the reason and the end of pipeline-build's
// stderr — and asks for its outcome to be carried out.
func (m *Machine) settle(s Settle, f Facts, st *buildlog.Status, why string, took time.Duration) {
	result, reason := "none", ""
	if st != nil {
		result, reason = st.Result, st.Reason
	}
	commit := s.Job.Commit
	if commit == "" && st != nil {
		commit = st.JobCommit() // a job without a commit: the one its build resolved
	}
	attrs := []any{"project", s.Job.Project, "ref", s.Job.Ref, "commit", workdir.ShortCommit(commit), "result", result, "outcome", s.Outcome.String()}
	if took > 0 {
		attrs = append(attrs, "took", took.Round(time.Millisecond).String())
	}
	attrs = append(attrs, "job", s.Name)
	if f.Dir != "" {
		attrs = append(attrs, "dir", f.Dir)
	}
	switch {
	case s.Outcome == outcome.Retry || s.Outcome == outcome.Requeue:
		reason = orWhy(why, reason, f.Stderr)
	case reason == "":
		reason = why
	}
	if result != outcome.Success && reason != "" {
		attrs = append(attrs, "reason", reason)
	}
	if result != outcome.Success && f.Stderr != "" {
		attrs = append(attrs, "stderr", f.Stderr)
	}
	level := slog.LevelInfo
	switch s.Outcome {
	case outcome.Done, outcome.Withdraw:
		if p := m.project(s.Job.Project); st != nil && p != nil && policyOf(p.KeepBuilds, p.KeepDays).Set() {
			m.emit(Prune{Project: s.Job.Project, Ref: st.Ref, Done: f.Dir, Policy: policyOf(p.KeepBuilds, p.KeepDays)})
		}
	case outcome.Retry:
		level = slog.LevelWarn
		if s.Job.Commit == "" {
			// A retry is the same build again: of the commit the first attempt resolved,
			// which another job may build meanwhile (see scanner.builtBy).
			s.Job.Commit = commit
		}
		attempts := s.Job.Attempts
		if mem := m.jobs.attempts[s.Name]; len(mem) > len(attempts) {
			attempts = mem // recorded in memory only: the disk was full
		}
		s.Attempts = outcome.WithAttempt(attempts, m.now, reason)
		attrs = append(attrs, "attempt", len(s.Attempts))
		m.reportRetry(s.Job, s.Attempts, reason)
		if len(s.Attempts) < outcome.MaxAttempts {
			attrs = append(attrs, "retry_in", outcome.RetryAt(s.Attempts).Sub(m.now).Round(time.Second).String())
		}
	}
	// The line is said once the outcome is carried out: a reader who sees it finds the job
	// where it says (and a job set aside says where it went).
	m.jobs.finished[s.Name] = Log{Level: level, Msg: "build finished", Attrs: attrs}
	m.jobs.settling[s.Name] = s
	m.emit(s)
	m.emit(RefreshPages{})
}

func (m *Machine) onSettled(ev JobSettled) {
	j := &m.jobs
	s, ok := j.settling[ev.Name]
	if !ok {
		return
	}
	delete(j.settling, ev.Name)
	if line, ok := j.finished[ev.Name]; ok {
		delete(j.finished, ev.Name)
		if ev.Dest != "" {
			line.Attrs = append(line.Attrs, "moved_to", ev.Dest)
		}
		m.emit(line)
	}
	recorded := s.Dead == nil || s.Recorded || ev.RecordErr == nil
	moved := s.Moved || ev.Err == nil || !ev.InCur
	if !recorded {
		m.logError("cannot record the end of a dead build in its build.json; trying again every minute", "dir", s.Dead.Dir,
			"error", ev.RecordErr.Error())
	}
	switch {
	case ev.Err != nil && ev.InCur:
		m.logError("cannot carry out a job's outcome; trying again every minute", "job", ev.Name,
			"outcome", ev.Outcome.String(), "error", ev.Err.Error())
	case ev.Err != nil && s.Outcome == outcome.Retry && ev.Queued != "":
		j.attempts[ev.Queued] = s.Attempts
		m.logError("cannot record the attempt in the spool; counting it in memory", "job", ev.Queued, "error", ev.Err.Error())
	case ev.Err != nil:
		m.logError("cannot carry out a job's outcome", "job", ev.Name, "outcome", ev.Outcome.String(), "error", ev.Err.Error())
	case !s.Moved:
		delete(j.attempts, ev.Name)
	}
	if !recorded || !moved {
		s.Recorded, s.Moved = recorded, moved
		j.stuck[ev.Name] = s
	} else if s.Again {
		m.logInfo("a job left in cur/ is settled now", "job", ev.Name, "outcome", ev.Outcome.String())
	}
	m.changed()
}

// retryStuck asks again for the outcomes that could not be carried out.
func (m *Machine) retryStuck() {
	for _, name := range sortedKeys(m.jobs.stuck) {
		s := m.jobs.stuck[name]
		delete(m.jobs.stuck, name)
		s.Again = true
		m.jobs.settling[name] = s
		m.emit(s)
	}
}

func (m *Machine) onRecovered(ev Recovered) {
	running := 0
	for _, c := range ev.Jobs {
		switch {
		case c.Bad != "":
			m.emit(SetAside{Sub: spool.Cur, Name: c.Name, Reason: c.Bad})
		case c.Running:
			m.adopt(c)
			running++
		default:
			m.decideEnd(c.Name, c.Job, c.Facts, outcome.Cancel{}, 0)
		}
	}
	m.recovering = false
	m.emit(RefreshPages{})
	m.emit(FreeMemory{}) // start-up (configuration, recovery) is over
	for _, st := range m.eng.pool.States() {
		if st.Up {
			m.cleanEngine(st.Engine)
		}
	}
	m.logInfo("recovered the spool", "claimed", len(ev.Jobs), "running", running)
	m.deliver() // what the last daemon left undelivered
	m.dispatch()
}

// adopt takes over a build a previous daemon started, which still runs: it counts against
// the limits, and its end is noticed when its lock on the job file goes.
func (m *Machine) adopt(c Claimed) {
	j := &m.jobs
	j.nextID++
	b := &build{id: j.nextID, name: c.Name, queuedAs: c.Name, job: c.Job, adopted: true, started: m.now, group: c.Group}
	if st := c.Status; st != nil {
		b.group = procexec.Group{PGID: st.PID, Start: st.PIDStart}
		b.started = st.Started
		if _, ok := m.eng.pool.Get(st.Engine); ok {
			b.engine = st.Engine
		}
	}
	b.cancel = c.Facts.Cancel
	j.builds[b.id] = b
	m.takeEngine(b.engine)
	m.logInfo("adopted a running build", "project", c.Job.Project, "ref", c.Job.Ref, "job", c.Name, "pid", b.group.PGID)
	m.emit(Adopt{ID: b.id, Name: c.Name, Job: c.Job})
	if m.mode == stopping {
		m.cancel(b, outcome.Cancel{Kind: outcome.Stopped, Reason: outcome.StoppedReason})
	}
}
