package supervisor

import (
	"strconv"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/engine"
	"pipelined/internal/git"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// queued is a job file in spool/new/ as the last scan read it.
type queued struct {
	name  string
	job   spool.Job
	since time.Time // modification time: the queue is first in, first out
	// builtBy is, for a job the watcher wrote, the directory of a build of the same commit
	// that another job made: the job was written before that build showed, and is moot.
	builtBy string
}

// running is a build that runs, as plan sees it.
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
	q      queued // for interrupt: the running build's job name and job
	reason string
	engine string // for start: the Docker engine it runs on, "" for a project without Docker
}

// plan is the dispatch state machine. It walks the queue in FIFO order and decides which
// jobs start now, within the free slots and each project's own limit; which are refused
// (unknown or disabled project); which are dropped (a duplicate of a job running or queued
// ahead of it, a watch job for a commit another job has built, or a job superseded by a
// newer commit of its branch queued behind it); and which running builds are interrupted
// (interruptible projects, superseded the same way). A job waiting out its retry back-off,
// or whose project is at its limit, is passed over and does not hold up the jobs behind it;
// wake is the earliest time a job in back-off becomes due (zero if none). plan does no
// I/O: the caller carries the decisions out.
//
// A project that builds images needs a slot on a Docker engine as well: one of its engines
// (the key engines; any when empty) that is up and has a free slot (engines, which plan
// does not change). Projects without Docker need none.
func plan(queue []queued, runs []running, slots int, cfg *config.Config, engines *engine.Pool, now time.Time) (decisions []decision, wake time.Time) {
	engines = engines.Clone()
	taken := map[string]bool{}     // keys running or queued ahead
	perProject := map[string]int{} // builds running or starting
	for _, r := range runs {
		if r.job.Commit != "" && !r.withdrawn {
			taken[r.job.Key()] = true // a build being canceled does not stand for its commit
		}
		perProject[r.job.Project]++
	}
	newest := newestOfBranches(queue, cfg)
	for _, r := range runs {
		p := cfg.Project(r.job.Project)
		// A job without a commit builds whatever the branch holds when it starts, maybe the
		// very commit running; a build without one may be building the queued commit. Neither
		// interrupts nor is interrupted: which commit is newer is not known here.
		if n, ok := newest[branchKey(r.job)]; ok && !r.withdrawn && p != nil && p.Interruptible &&
			n.job.Commit != "" && r.job.Commit != "" && n.job.Commit != r.job.Commit {
			decisions = append(decisions, decision{action: interrupt, q: queued{name: r.name, job: r.job}, reason: supersededBy(n.job)})
		}
	}
	for _, q := range queue {
		if reason := refusal(cfg, q.job); reason != "" {
			decisions = append(decisions, decision{action: refuse, q: q, reason: reason})
			continue
		}
		key := q.job.Key()
		switch n, ok := newest[branchKey(q.job)]; {
		case taken[key]:
			decisions = append(decisions, decision{action: drop, q: q, reason: "the same project, ref and commit is running or queued ahead"})
			continue
		case q.builtBy != "":
			decisions = append(decisions, decision{action: drop, q: q, reason: "already built in " + q.builtBy})
			continue
		case ok && n.name != q.name && n.job.Commit != q.job.Commit:
			decisions = append(decisions, decision{action: drop, q: q, reason: supersededBy(n.job)})
			continue
		}
		taken[key] = true
		if at := spool.RetryAt(q.job); at.After(now) {
			if wake.IsZero() || at.Before(wake) {
				wake = at
			}
			continue
		}
		if limit := cfg.Project(q.job.Project).Limit; limit > 0 && perProject[q.job.Project] >= int(limit) {
			continue
		}
		if slots <= 0 {
			continue
		}
		d := decision{action: start, q: q}
		if p := cfg.Project(q.job.Project); p.Build {
			e, ok := engines.Pick(p.EngineNames())
			if !ok {
				continue // no engine for it now; later jobs may have one
			}
			engines.Take(e.Name)
			d.engine = e.Name
		}
		decisions = append(decisions, d)
		perProject[q.job.Project]++
		slots--
	}
	return decisions, wake
}

// newestOfBranches returns, for each branch of a project that supersedes, the job queued
// last: the commit that is wanted now. Tags are never superseded: each is a release.
func newestOfBranches(queue []queued, cfg *config.Config) map[string]queued {
	newest := map[string]queued{}
	for _, q := range queue {
		if p := cfg.Project(q.job.Project); p != nil && p.Enabled && p.Supersede && git.BuiltLikeBranch(q.job.Ref) {
			newest[branchKey(q.job)] = q
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
