package supervisor

import (
	"strconv"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/engine"
	"pipelined/internal/git"
	"pipelined/internal/outcome"
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
func plan(queue []Queued, runs []running, slots int, cfg *config.Config, engines *engine.Pool, now time.Time) (decisions []decision, wake time.Time) {
	engines = engines.Clone()
	runningKeys := map[string]bool{} // what the running builds stand for
	queuedKeys := map[string]bool{}  // what the jobs queued ahead stand for
	busyRefs := map[string]bool{}    // refs with a build running, or an older job waiting
	perProject := map[string]int{}   // builds running or starting
	for _, r := range runs {
		if r.job.Commit != "" && !r.withdrawn {
			runningKeys[r.job.Key()] = true // a build being canceled does not stand for its commit
		}
		busyRefs[branchKey(r.job)] = true
		perProject[r.job.Project]++
	}
	newest := newestOfBranches(queue, cfg)
	for _, r := range runs {
		p := cfg.Project(r.job.Project)
		// A job without a commit builds whatever the branch holds when it starts, maybe the
		// very commit running; a build without one may be building the queued commit. Neither
		// interrupts nor is interrupted: which commit is newer is not known here.
		if n, ok := newest[branchKey(r.job)]; ok && !r.withdrawn && p != nil && p.Interruptible &&
			n.Job.Commit != "" && r.job.Commit != "" && n.Job.Commit != r.job.Commit {
			decisions = append(decisions, decision{action: interrupt, q: Queued{Name: r.name, Job: r.job}, reason: supersededBy(n.Job)})
		}
	}
	for _, q := range queue {
		if reason := refusal(cfg, q.Job); reason != "" {
			decisions = append(decisions, decision{action: refuse, q: q, reason: reason})
			continue
		}
		key, p := q.Job.Key(), cfg.Project(q.Job.Project)
		switch n, ok := newest[branchKey(q.Job)]; {
		case queuedKeys[key] || runningKeys[key] && !q.Job.Rebuild:
			decisions = append(decisions, decision{action: drop, q: q, reason: "the same project, ref and commit is running or queued ahead"})
			continue
		case q.BuiltBy != "":
			decisions = append(decisions, decision{action: drop, q: q, reason: "already built in " + q.BuiltBy})
			continue
		case ok && n.Name != q.Name && n.Job.Commit != q.Job.Commit:
			decisions = append(decisions, decision{action: drop, q: q, reason: supersededBy(n.Job)})
			continue
		}
		queuedKeys[key] = true
		ref := branchKey(q.Job)
		if p.Serialize || runningKeys[key] {
			// Its turn comes after the build of its ref (or of its very commit) and after
			// every older job of its ref; later jobs of the ref wait behind it.
			wasBusy := busyRefs[ref]
			busyRefs[ref] = true
			if wasBusy || runningKeys[key] {
				continue
			}
		}
		if at := outcome.RetryAt(q.Job.Attempts); at.After(now) {
			if wake.IsZero() || at.Before(wake) {
				wake = at
			}
			continue
		}
		if limit := p.Limit; limit > 0 && perProject[q.Job.Project] >= int(limit) {
			continue
		}
		if slots <= 0 {
			continue
		}
		d := decision{action: start, q: q}
		if p.Build {
			e, ok := engines.Pick(p.EngineNames())
			if !ok {
				continue // no engine for it now; later jobs may have one
			}
			engines.Take(e.Name)
			d.engine = e.Name
		}
		decisions = append(decisions, d)
		perProject[q.Job.Project]++
		slots--
	}
	return decisions, wake
}

// newestOfBranches returns, for each branch of a project that supersedes, the job queued
// last: the commit that is wanted now. Tags are never superseded: each is a release.
func newestOfBranches(queue []Queued, cfg *config.Config) map[string]Queued {
	newest := map[string]Queued{}
	for _, q := range queue {
		if p := cfg.Project(q.Job.Project); p != nil && p.Enabled && p.Supersede && git.BuiltLikeBranch(q.Job.Ref) {
			newest[branchKey(q.Job)] = q
		}
	}
	return newest
}

func branchKey(j spool.Job) string { return j.Project + "\x00" + j.Ref }

// supersededBy is the reason a job or build gives way to the newer job n.
func supersededBy(n spool.Job) string {
	if n.Commit == "" {
		return "superseded by a newer job for the latest commit of " + git.ShortName(n.Ref)
	}
	return "superseded by " + workdir.ShortCommit(n.Commit)
}

// refusal returns why the configuration does not allow a job, or "".
func refusal(cfg *config.Config, job spool.Job) string {
	p := cfg.Project(job.Project)
	switch {
	case p == nil:
		return "project " + strconv.Quote(job.Project) + " is not in the configuration"
	case !p.Enabled:
		return "project " + strconv.Quote(job.Project) + " is disabled"
	}
	return ""
}
