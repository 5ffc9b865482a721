package supervisor

import (
	"strconv"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/spool"
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

// action is what dispatch does with a queued job.
type action int

const (
	start  action = iota // claim it and run pipeline-build
	drop                 // remove it: nothing is wanted that is not already running or queued ahead
	refuse               // move it to bad/: the configuration does not allow it
)

// decision is one action on one queued job, with the reason for drop and refuse.
type decision struct {
	action action
	q      queued
	reason string
}

// plan is the dispatch state machine: it walks the queue in FIFO order and decides which
// jobs start now, within the free slots; which are refused (unknown or disabled project);
// and which are dropped (a duplicate of a job running or queued ahead of it, or a watch
// job for a commit another job has built). A job waiting out its retry back-off is passed
// over, and does not hold up the jobs behind it; wake is the earliest time one of those
// becomes due (zero if none). plan does no I/O: the caller carries the decisions out.
func plan(queue []queued, running []spool.Job, slots int, cfg *config.Config, now time.Time) (decisions []decision, wake time.Time) {
	taken := map[string]bool{} // keys running or queued ahead
	for _, j := range running {
		if j.Commit != "" {
			taken[j.Key()] = true
		}
	}
	for _, q := range queue {
		if reason := refusal(cfg, q.job); reason != "" {
			decisions = append(decisions, decision{refuse, q, reason})
			continue
		}
		switch key := q.job.Key(); {
		case taken[key]:
			decisions = append(decisions, decision{drop, q, "the same project, ref and commit is running or queued ahead"})
			continue
		case q.builtBy != "":
			decisions = append(decisions, decision{drop, q, "already built in " + q.builtBy})
			continue
		default:
			taken[key] = true
		}
		if at := spool.RetryAt(q.job); at.After(now) {
			if wake.IsZero() || at.Before(wake) {
				wake = at
			}
			continue
		}
		if slots > 0 {
			decisions = append(decisions, decision{action: start, q: q})
			slots--
		}
	}
	return decisions, wake
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
