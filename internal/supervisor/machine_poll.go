package supervisor

import (
	"slices"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/git"
	"pipelined/internal/polling"
)

// pollState is the watching of SPEC §6, done by passes: a pass is one pipeline-watch
// --once over the remotes that are due, started by the daemon, which keeps each remote's
// schedule between passes. A remote in a pass that still runs (a hung remote, say) is not
// due: it is skipped by the passes that start meanwhile, never asked twice at once.
type pollState struct {
	sched    *polling.Schedule
	urls     []string                  // the remotes, in the order of the configuration
	projects map[string][]string       // remote → the projects that watch it
	passes   map[int]map[string]string // pass → its remotes not done yet, by polling.Key
	nextID   int

	backoff time.Duration // after a pass that failed to run: the next delay
	retryAt time.Time     // no pass before

	requesting, again bool // poll requests are being read; another came meanwhile

	// only are, for a remote that `pipelined poll PROJECT` made due, the projects asked for:
	// its pass writes jobs for them alone (without polling, the other projects of the
	// remote are built only when asked for). Requests that come before the pass add up; a
	// nil entry is a poll of every project, which a later request does not narrow.
	only map[string][]string
}

// maxPasses bounds the passes running at once: remotes due while that many run wait for
// one to end.
const maxPasses = 4

func (p *pollState) init(interval time.Duration) {
	p.sched = polling.NewSchedule(interval)
	p.passes = map[int]map[string]string{}
	p.only = map[string][]string{}
}

// configure makes the remotes of cfg those of the schedule, all of them due now when
// polling is on: a new configuration is polled right away.
func (p *pollState) configure(cfg *config.Config, now time.Time, dueNow bool) {
	p.urls, p.projects = polling.RemoteProjects(cfg)
	var due time.Time
	if dueNow {
		due = now
	}
	p.sched.Set(p.urls, due)
}

func (p *pollState) wake(m mode) time.Time {
	if m != serving || len(p.passes) >= maxPasses {
		return time.Time{}
	}
	next, ok := p.sched.Next()
	if !ok {
		return time.Time{}
	}
	if next.Before(p.retryAt) {
		return p.retryAt
	}
	return next
}

// startPasses starts a pass over the remotes that are due.
func (m *Machine) startPasses() {
	p := &m.poll
	if m.mode != serving || len(p.passes) >= maxPasses || p.retryAt.After(m.now) {
		return
	}
	due := p.sched.Take(m.now, len(p.urls))
	if len(due) == 0 {
		return
	}
	pass := StartPass{All: len(due) == len(p.urls)}
	for _, url := range due {
		only, asked := p.only[url]
		delete(p.only, url)
		if asked && only != nil {
			pass.Projects = append(pass.Projects, only...)
			pass.All = false
			continue
		}
		pass.Projects = append(pass.Projects, p.projects[url]...)
	}
	p.nextID++
	pass.ID = p.nextID
	byKey := make(map[string]string, len(due))
	for _, url := range due {
		byKey[polling.Key(url)] = url
	}
	p.passes[pass.ID] = byKey
	m.emit(pass)
}

func (m *Machine) onPassEnded(ev PassEnded) {
	p := &m.poll
	for _, url := range p.passes[ev.ID] {
		p.sched.Done(url, m.now)
	}
	delete(p.passes, ev.ID)
	if ev.Err != nil && m.mode == serving {
		p.backoff = min(max(2*p.backoff, time.Second), passBackoffMax)
		p.retryAt = m.now.Add(p.backoff)
		m.logWarn("a pass of pipeline-watch failed; polling again with back-off", "error", ev.Err.Error(),
			"retry_in", p.backoff.String())
	} else if ev.Err == nil {
		p.backoff = 0
	}
	m.startPasses()
}

// onRemoteDone marks the end of one remote's poll in a pass that still runs, which may
// be stuck on another: the remote is due again on its own schedule, not when the pass ends.
func (m *Machine) onRemoteDone(ev RemoteDone) {
	p := &m.poll
	for _, key := range ev.Keys {
		if url, ok := p.passes[ev.ID][key]; ok {
			p.sched.Done(url, m.now)
			delete(p.passes[ev.ID], key)
		}
	}
	m.startPasses()
}

// pollNow asks every remote, or those of the projects `pipelined poll` names, right away
// (SIGUSR1): the requests are read first. Requests that come meanwhile are one request.
func (m *Machine) pollNow() {
	p := &m.poll
	switch {
	case m.mode != serving:
	case p.requesting:
		p.again = true
	default:
		p.requesting = true
		m.emit(TakePollRequests{})
	}
}

func (m *Machine) onPollRequested(ev PollRequested) {
	p := &m.poll
	p.requesting = false
	if m.mode != serving {
		return
	}
	var urls []string
	for _, url := range p.urls {
		var asked []string
		for _, name := range p.projects[url] {
			if ev.Projects[name] {
				asked = append(asked, name)
				m.logInfo("polling now", "project", name, "remote", git.MaskURL(url))
			}
		}
		if asked != nil {
			urls = append(urls, url)
			if only, pending := p.only[url]; !pending || only != nil {
				p.only[url] = addNew(only, asked)
			}
		}
	}
	if len(urls) == 0 {
		// No request, or only for projects that are gone: a poll was asked for all the same.
		urls = p.urls
		m.logInfo("polling every remote now", "remotes", len(urls))
		for _, url := range urls {
			p.only[url] = nil
		}
	}
	p.sched.DueNow(urls, m.now)
	p.retryAt = time.Time{}
	if p.again {
		p.again = false
		m.pollNow()
	}
	m.startPasses()
}

// addNew appends to list the names it lacks.
func addNew(list, names []string) []string {
	for _, name := range names {
		if !slices.Contains(list, name) {
			list = append(list, name)
		}
	}
	return list
}

// stopPolling stops the running passes: a drain or a shutdown starts none.
func (m *Machine) stopPolling() {
	if len(m.poll.passes) > 0 {
		m.emit(StopPasses{})
	}
}
