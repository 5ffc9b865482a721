package supervisor

import (
	"strconv"
	"time"

	"pipelined/internal/engine"
	"pipelined/internal/outcome"
	"pipelined/internal/refname"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// running is a build that runs (or is starting), as plan sees it.
type running struct {
	name      string
	job       spool.Job
	withdrawn bool // already being canceled on purpose
}

// action is what dispatch does with a job.
type action int

const (
	start     action = iota // claim it and run pipeline-build
	drop                    // remove it: what it wants is running, queued ahead, built, or superseded
	refuse                  // move it to bad/: the configuration does not allow it
	interrupt               // cancel its running build: a newer commit of its branch is queued
)

// decision is one action on one job, with the reason for all but start.
type decision struct {
	action action
	q      Queued // for interrupt: the running build's job name and job
	reason string
	engine string // for start: the Docker engine it runs on, "" for a project without Docker
	// superseded: for drop, a newer commit of its branch is queued (the forge is told)
	superseded bool
}

// plan decides what to dispatch. It walks the queue in FIFO order and decides which
// jobs start now, within the free slots and each project's own limit; which are refused
// (unknown or disabled project); which are dropped (a duplicate of a job running or queued
// ahead of it, a job for a commit that is built already, or a job superseded by a
// newer commit of its branch queued behind it); and which running builds are interrupted
// (interruptible projects, superseded the same way). A job waiting out its retry back-off,
// or whose project is at its limit, is passed over and does not hold up the jobs behind it;
// wake is the earliest time a job in back-off becomes due (zero if none). plan does no
// I/O: the caller carries the decisions out.
//
// A project that serializes (the default) runs one build of a ref at a time, in the order
// its jobs were queued: a job waits while a build of its ref runs, or while an older job of
// its ref waits (for a back-off, a slot or an engine). So the last deploy of a ref is
// always that of its newest commit queued, whatever retries and restarts happen between.
// A job that asks for a rebuild is never dropped as built already, and waits rather than
// being dropped while the same commit is running.
//
// A project that builds images needs a slot on a Docker engine as well: one of its engines
// (the key engines; any when empty) that is up and has a free slot (engines, which plan
// does not change). Projects without Docker need none.
func plan(queue []Queued, runs []running, slots int, cfg *projectSet, engines *engine.Pool, now time.Time) (decisions []decision, wake time.Time) {
	pl := &planner{cfg: cfg, engines: engines.Clone(), slots: slots, now: now,
		runningKeys: map[string]bool{}, queuedKeys: map[string]bool{}, busyRefs: map[string]bool{}, perProject: map[string]int{}}
	for _, r := range runs {
		if r.job.Commit != "" && !r.withdrawn {
			pl.runningKeys[r.job.Key()] = true // a build being canceled does not stand for its commit
		}
		pl.busyRefs[branchKey(r.job)] = true
		pl.perProject[r.job.Project]++
	}
	pl.newest = newestOfBranches(queue, pl.runningKeys, cfg)
	for _, r := range runs {
		pl.interrupt(r)
	}
	for _, q := range queue {
		pl.consider(q)
	}
	return pl.decisions, pl.wake
}

// planner is one plan being made: what the queue ahead and the running builds hold.
type planner struct {
	cfg         *projectSet
	engines     *engine.Pool // a copy: taken slots are this plan's
	slots       int
	now         time.Time
	newest      map[string]Queued
	runningKeys map[string]bool // what the running builds stand for
	queuedKeys  map[string]bool // what the jobs queued ahead stand for
	busyRefs    map[string]bool // refs with a build running, or an older job waiting
	perProject  map[string]int  // builds running or starting
	decisions   []decision
	wake        time.Time
}

// interrupt cancels a running build of an interruptible project when a newer commit of its
// branch is queued. A job without a commit builds whatever the branch holds when it starts,
// maybe the very commit running; a build without one may be building the queued commit.
// Neither interrupts nor is interrupted: which commit is newer is not known here.
func (pl *planner) interrupt(r running) {
	p := pl.cfg.Project(r.job.Project)
	if n, ok := pl.newest[branchKey(r.job)]; ok && !r.withdrawn && p != nil && p.Interruptible &&
		n.Job.Commit != "" && r.job.Commit != "" && n.Job.Commit != r.job.Commit {
		pl.decisions = append(pl.decisions, decision{action: interrupt, q: Queued{Name: r.name, Job: r.job}, reason: supersededBy(n.Job)})
	}
}

// consider decides about one queued job, in FIFO order.
func (pl *planner) consider(q Queued) {
	if reason := refusal(pl.cfg, q.Job); reason != "" {
		pl.decisions = append(pl.decisions, decision{action: refuse, q: q, reason: reason})
		return
	}
	if reason, superseded := pl.moot(q); reason != "" {
		pl.decisions = append(pl.decisions, decision{action: drop, q: q, reason: reason, superseded: superseded})
		return
	}
	key, p := q.Job.Key(), pl.cfg.Project(q.Job.Project)
	pl.queuedKeys[key] = true
	if p.Serialize || pl.runningKeys[key] {
		// Its turn comes after the build of its ref (or of its very commit) and after every
		// older job of its ref; later jobs of the ref wait behind it.
		ref := branchKey(q.Job)
		wasBusy := pl.busyRefs[ref]
		pl.busyRefs[ref] = true
		if wasBusy || pl.runningKeys[key] {
			return
		}
	}
	if at := outcome.RetryAt(q.Job.Attempts); at.After(pl.now) {
		pl.wake = earliest(pl.wake, at)
		return
	}
	if limit := p.Limit; limit > 0 && pl.perProject[q.Job.Project] >= int(limit) || pl.slots <= 0 {
		return
	}
	d := decision{action: start, q: q}
	if p.Build {
		e, ok := pl.engines.Pick(p.EngineNames())
		if !ok {
			return // no engine for it now; later jobs may have one
		}
		pl.engines.Take(e.Name)
		d.engine = e.Name
	}
	pl.decisions = append(pl.decisions, d)
	pl.perProject[q.Job.Project]++
	pl.slots--
}

// moot says why a queued job's want is met or withdrawn already, or "", and whether a newer
// commit superseded it: the same commit
// runs (and it asks for no rebuild) or is queued ahead, it is built, or a newer commit of
// its branch is queued behind it.
func (pl *planner) moot(q Queued) (reason string, superseded bool) {
	key := q.Job.Key()
	switch n, ok := pl.newest[branchKey(q.Job)]; {
	case pl.queuedKeys[key] || pl.runningKeys[key] && !q.Job.Rebuild:
		return "the same project, ref and commit is running or queued ahead", false
	case q.BuiltBy != "":
		return "already built in " + q.BuiltBy, false
	case ok && n.Name != q.Name && n.Job.Commit != q.Job.Commit:
		return supersededBy(n.Job), true
	}
	return "", false
}

// newestOfBranches returns, for each branch of a project that supersedes, the job queued
// last: the commit that is wanted now. Tags are never superseded: each is a release. A job
// whose want is met already — its commit built, running or queued ahead, as a webhook
// redelivered for an older commit is — is no newer push: it supersedes nothing, or the
// newer commit queued or running before it would give way to a job that is then dropped.
func newestOfBranches(queue []Queued, runningKeys map[string]bool, cfg *projectSet) map[string]Queued {
	newest := map[string]Queued{}
	seen := map[string]bool{}
	for _, q := range queue {
		key := q.Job.Key()
		met := q.BuiltBy != "" || seen[key] || runningKeys[key] && !q.Job.Rebuild
		seen[key] = true
		if met {
			continue
		}
		if p := cfg.Project(q.Job.Project); p != nil && p.Enabled && p.Supersede && refname.BuiltLikeBranch(q.Job.Ref) {
			newest[branchKey(q.Job)] = q
		}
	}
	return newest
}

func branchKey(j spool.Job) string { return j.Project + "\x00" + j.Ref }

// supersededBy is the reason a job or build gives way to the newer job n.
func supersededBy(n spool.Job) string {
	if n.Commit == "" {
		return "superseded by a newer job for the latest commit of " + refname.ShortName(n.Ref)
	}
	return "superseded by " + workdir.ShortCommit(n.Commit)
}

// refusal returns why the configuration does not allow a job, or "".
func refusal(cfg *projectSet, job spool.Job) string {
	p := cfg.Project(job.Project)
	switch {
	case p == nil:
		return "project " + strconv.Quote(job.Project) + " is not in the configuration"
	case !p.Enabled:
		return "project " + strconv.Quote(job.Project) + " is disabled"
	}
	return ""
}
