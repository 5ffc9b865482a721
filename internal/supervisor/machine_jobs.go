package supervisor

import (
	"slices"
	"strings"
	"syscall"
	"time"

	"pipelined/internal/outcome"
	"pipelined/internal/procexec"
	"pipelined/internal/spool"
)

// jobState is the machine's view of the spool: the queue as the last scan saw it, the
// builds that run, and the outcomes being carried out.
type jobState struct {
	builds map[int]*build
	nextID int
	queue  []Queued
	seq    int // spool changes the machine asked for; a scan answers one

	youngAt     time.Time // a file that may still be being written is looked at again then
	retryAt     time.Time // the earliest end of a job's back-off
	pausedUntil time.Time // no dispatching before, after pipeline-build failed to start
	claimErr    string    // the last error of a claim, logged once

	// attempts are those the disk was too full to record, by job name.
	attempts map[string][]spool.Attempt
	// settling are the outcomes being carried out, by job name in cur/; stuck those that
	// could not be (the work directory is read-only or full), tried again every minute.
	settling map[string]Settle
	stuck    map[string]Settle
	// finished are the log lines of builds whose outcome is being carried out.
	finished map[string]Log
}

// build is a running pipeline-build: one the daemon started (or is starting), or one a
// previous daemon started and this one adopted.
type build struct {
	id       int
	name     string // the job file's name in cur/ ("" while starting)
	queuedAs string // its name in new/ when it was dispatched
	job      spool.Job
	engine   string // the Docker engine it runs on, "" for a project without Docker
	starting bool
	adopted  bool
	started  time.Time
	group    procexec.Group // pipeline-build's process group, when known
	cancel   outcome.Cancel // the strongest cancel the daemon issued or learned of
	killAt   time.Time      // SIGKILL then, if it still runs
}

func (j *jobState) init() {
	j.builds = map[int]*build{}
	j.attempts = map[string][]spool.Attempt{}
	j.settling = map[string]Settle{}
	j.stuck = map[string]Settle{}
	j.finished = map[string]Log{}
}

// sorted returns the builds in the order they were dispatched.
func (j *jobState) sorted() []*build {
	out := make([]*build, 0, len(j.builds))
	for _, b := range j.builds {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b *build) int { return a.id - b.id })
	return out
}

// byName returns the running build of the claimed job name.
func (j *jobState) byName(name string) *build {
	for _, b := range j.builds {
		if b.name == name && name != "" {
			return b
		}
	}
	return nil
}

// wake is the next time something about jobs is due.
func (j *jobState) wake(m mode, now time.Time) time.Time {
	var t time.Time
	if m == serving {
		t = j.retryAt
		if j.pausedUntil.After(now) {
			t = earliest(t, j.pausedUntil)
		}
	}
	t = earliest(t, j.youngAt)
	for _, b := range j.builds {
		t = earliest(t, b.killAt)
	}
	return t
}

// jobsDue does what is due about jobs at now.
func (m *Machine) jobsDue() {
	j := &m.jobs
	if due(j.youngAt, m.now) {
		j.youngAt = time.Time{}
		m.scan()
	}
	for _, b := range j.sorted() {
		if due(b.killAt, m.now) {
			b.killAt = time.Time{}
			m.emit(KillGroups{Groups: []procexec.Group{b.group}, Signal: syscall.SIGKILL})
		}
	}
	if due(j.retryAt, m.now) || due(j.pausedUntil, m.now) {
		j.retryAt, j.pausedUntil = time.Time{}, time.Time{}
		m.dispatch()
	}
}

func due(t, now time.Time) bool { return !t.IsZero() && !now.Before(t) }

// scan asks for a view of spool/new/ answering the spool as the machine changed it.
func (m *Machine) scan() { m.emit(Scan{Seq: m.jobs.seq}) }

// changed notes that the spool changed: a scan asked before is stale, and a new one is due.
func (m *Machine) changed() {
	m.jobs.seq++
	m.scan()
}

func (m *Machine) onScanned(ev Scanned) {
	j := &m.jobs
	if ev.Err != nil {
		m.logError("cannot list the spool", "error", ev.Err.Error())
		return
	}
	if ev.Seq != j.seq {
		return // the spool changed since: the scan asked then answers
	}
	if ev.Young && j.youngAt.IsZero() {
		j.youngAt = m.now.Add(youngFile)
	}
	for name, c := range ev.Canceled {
		// `pipelined cancel` withdrew a running build: its commit is wanted again if queued.
		if b := j.byName(name); b != nil && c.Kind > b.cancel.Kind {
			b.cancel = c
		}
	}
	j.queue = ev.Queue
	for i, q := range j.queue {
		// Attempts the disk was too full to record count all the same.
		if mem := j.attempts[q.Name]; len(mem) > len(q.Job.Attempts) {
			j.queue[i].Job.Attempts = mem
		}
	}
	m.dispatch()
}

// dispatch carries out plan: starts queued jobs within the free slots, drops what is moot,
// refuses what the configuration does not allow, and interrupts superseded builds.
func (m *Machine) dispatch() {
	j := &m.jobs
	if m.mode != serving || m.recovering || j.pausedUntil.After(m.now) {
		return
	}
	m.warnUnknownEngines()
	m.probeEngines()
	runs := make([]running, 0, len(j.builds))
	for _, b := range j.sorted() {
		runs = append(runs, running{name: b.name, job: b.job, withdrawn: b.cancel.Kind == outcome.Withdrawn})
	}
	decisions, wake := plan(j.queue, runs, m.set.Limit-len(j.builds), m.cfg, m.eng.pool, m.now)
	j.retryAt = wake
	taken := map[string]bool{}
	for _, d := range decisions {
		switch d.action {
		case interrupt:
			if b := j.byName(d.q.Name); b != nil {
				m.logInfo("canceling a running build", append(jobDesc(b.job, b.name), "reason", d.reason)...)
				m.cancel(b, outcome.Cancel{Kind: outcome.Withdrawn, Reason: d.reason})
			}
			continue
		case refuse:
			m.emit(SetAside{Sub: spool.New, Name: d.q.Name, Reason: d.reason, Job: d.q.Job})
		case drop:
			m.logInfo("dropped a job", append(jobDesc(d.q.Job, d.q.Name), "reason", d.reason)...)
			m.emit(Drop{Name: d.q.Name, Job: d.q.Job, Reason: d.reason})
			if d.superseded {
				m.reportSuperseded(d.q.Job, d.reason)
			}
		case start:
			m.startBuild(d.q, d.engine)
		}
		taken[d.q.Name] = true
	}
	if len(taken) > 0 {
		j.queue = slices.DeleteFunc(j.queue, func(q Queued) bool { return taken[q.Name] })
		j.seq++ // a scan asked before these moves would show them undone
		m.emit(Notify{State: []string{m.statusLine()}})
	}
}

// startBuild dispatches a queued job: the build counts against the limits from now on.
func (m *Machine) startBuild(q Queued, engineName string) {
	j := &m.jobs
	j.nextID++
	b := &build{id: j.nextID, queuedAs: q.Name, job: q.Job, engine: engineName, starting: true, started: m.now}
	j.builds[b.id] = b
	e, _ := m.eng.pool.Get(engineName)
	m.takeEngine(engineName)
	m.emit(StartBuild{ID: b.id, Name: q.Name, Job: q.Job, Engine: e})
}

func (m *Machine) onStarted(ev BuildStarted) {
	b := m.jobs.builds[ev.ID]
	if b == nil {
		return
	}
	b.starting, b.name, b.group, b.started = false, ev.Name, ev.Group, m.now
	m.jobs.claimErr = ""
	attrs := append(jobDesc(b.job, b.name), "pid", ev.Group.PGID)
	if b.engine != "" {
		attrs = append(attrs, "engine", b.engine)
	}
	m.logInfo("dispatched build", attrs...)
	m.emit(RefreshPages{})
	if p := m.project(b.job.Project); p != nil && p.reports != nil {
		m.deliver() // the build reports that it started
	}
	switch {
	case b.cancel.Kind != outcome.NotCanceled:
		// Canceled while it started: the cancel goes out now that there is a build.
		c := b.cancel
		b.cancel = outcome.Cancel{}
		m.cancel(b, c)
	case m.mode == stopping:
		m.cancel(b, outcome.Cancel{Kind: outcome.Stopped, Reason: outcome.StoppedReason})
	}
}

func (m *Machine) onNotStarted(ev BuildNotStarted) {
	j := &m.jobs
	b := j.builds[ev.ID]
	if b == nil {
		return
	}
	delete(j.builds, ev.ID)
	m.releaseEngine(b.engine)
	switch {
	case ev.Gone:
		// Claimed or removed by someone else meanwhile.
	case ev.Claim:
		// cur/ refuses it (permissions, a full disk): it stays queued; said once.
		if ev.Err.Error() != j.claimErr {
			j.claimErr = ev.Err.Error()
			m.logError("cannot claim a job: it stays queued", "job", b.queuedAs, "error", ev.Err.Error())
		}
		return
	default:
		// Requeuing fires the spool watch again: without a pause this would spin until the
		// binary is back (it went missing during an upgrade, say).
		j.pausedUntil = m.now.Add(startRetry)
		m.logError("cannot start pipeline-build; the job goes back into the queue", "job", b.queuedAs,
			"error", ev.Err.Error(), "retry_in", startRetry.String())
	}
	m.changed()
}

// cancel cancels a build for c, unless it is canceled for as strong a reason already: the
// record beside its job first, then SIGTERM, and SIGKILL after the grace period.
func (m *Machine) cancel(b *build, c outcome.Cancel) {
	if c.Kind <= b.cancel.Kind {
		return
	}
	b.cancel = c
	if b.starting {
		return // it is canceled as soon as it has started
	}
	if b.killAt.IsZero() {
		b.killAt = m.now.Add(buildKillAfter(m.set.Grace))
	}
	m.emit(CancelBuild{ID: b.id, Name: b.name, Group: b.group, Cancel: c})
}

func (m *Machine) onCancelRecorded(ev CancelRecorded) {
	b := m.jobs.builds[ev.ID]
	if ev.Err == nil || b == nil || b.cancel.Kind != ev.Kind {
		return
	}
	if ev.Kind == outcome.Stopped {
		m.logError("cannot mark a build as canceled by the shutdown; if it ends after this daemon, its job is not built again",
			"job", b.name, "error", ev.Err.Error())
		return
	}
	b.cancel, b.killAt = outcome.Cancel{}, time.Time{}
	m.logError("cannot mark a build as canceled; it runs on", "job", b.name, "error", ev.Err.Error())
}

// orWhy joins the reason the outcome table gives with what the build said, saying each
// once.
func orWhy(why, reason, stderr string) string {
	switch {
	case strings.HasPrefix(reason, why):
		return reason // it says the same, and more
	case reason != "":
		return why + ": " + reason
	case stderr != "":
		return why + ": " + lastLine(stderr)
	}
	return why
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
