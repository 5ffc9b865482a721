package forge

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/env"
	"pipelined/internal/refname"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// Reports reports whether a project reports to a forge.
func Reports(p *config.Project) bool { return p != nil && p.Enabled && p.Forge.Kind != "" }

// NewRecord describes a state of the build of commit of ref, for project p, changed at at:
// its context and target URL are p's forge.context and forge.target_url expanded over the
// report variables (config.ReportVariables).
func NewRecord(p *config.Project, ref, commit string, state State, description string, at time.Time) (Record, error) {
	vars := ReportVars(p.Name, ref, commit)
	lookup := func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
	context, err := env.Expand(p.Forge.Context, lookup)
	if err != nil {
		return Record{}, fmt.Errorf("forge.context: %w", err)
	}
	target, err := env.Expand(p.Forge.TargetURL, lookup)
	if err != nil {
		return Record{}, fmt.Errorf("forge.target_url: %w", err)
	}
	// Any description gives a status (a refused record would leave the forge showing an
	// older state): made valid UTF-8 and cut well within what a record may hold, longer
	// than any forge shows.
	description = Cut(strings.ToValidUTF8(description, "?"), 1000)
	context, target = strings.ToValidUTF8(context, "?"), strings.ToValidUTF8(target, "?") // a ref name may be any bytes
	r := Record{Project: p.Name, Ref: ref, Commit: commit, Context: context, TargetURL: target,
		State: state, Description: description, At: at.UTC()}
	return r, r.Validate()
}

// ReportVars are the values of config.ReportVariables for a build; a variable that does not
// apply is empty.
func ReportVars(project, ref, commit string) map[string]string {
	vars := map[string]string{}
	for _, name := range config.ReportVariables {
		vars[name] = ""
	}
	vars[env.BuildProject], vars[env.BuildRef], vars[env.BuildRefName] = project, ref, refname.ShortName(ref)
	vars[env.BuildCommit], vars[env.BuildShortCommit] = commit, workdir.ShortCommit(commit)
	switch n, pr := refname.PullRequest(ref); {
	case pr:
		vars[env.BuildPullRequest] = strconv.Itoa(n)
	case refname.IsBranch(ref):
		vars[env.BuildBranch] = refname.ShortName(ref)
	case refname.IsTag(ref):
		vars[env.BuildTag] = refname.ShortName(ref)
	}
	return vars
}

// RetryReport is the daemon's report for a job an infrastructure error stopped, to be tried
// again: pending, "retry 2 of 5: REASON". ok is false when there is nothing to report: the
// project reports to no forge, or the job never got to know its commit.
func RetryReport(p *config.Project, job spool.Job, attempt, of int, reason string, at time.Time) (Record, bool) {
	return jobReport(p, job, Retrying, fmt.Sprintf("retry %d of %d: %s", attempt, of, reason), at)
}

// SetAsideReport is the daemon's report for a job it gave up on and moved to bad/: error,
// "set aside after 5 attempts: REASON".
func SetAsideReport(p *config.Project, job spool.Job, attempts int, reason string, at time.Time) (Record, bool) {
	return jobReport(p, job, SetAside, fmt.Sprintf("set aside after %d attempts: %s", attempts, reason), at)
}

// DroppedReport is the report for a queued job withdrawn before it ran again: superseded
// by a newer commit of its ref (the daemon: "superseded by SHORT"), or canceled by hand
// ("canceled: canceled by hand"). Only a job that was tried before has shown anything — a
// pending retry — so only such a job (job.Attempts) is reported: its commit must not stay
// pending.
func DroppedReport(p *config.Project, job spool.Job, description string, at time.Time) (Record, bool) {
	if len(job.Attempts) == 0 {
		return Record{}, false
	}
	return jobReport(p, job, Canceled, description, at)
}

func jobReport(p *config.Project, job spool.Job, state State, description string, at time.Time) (Record, bool) {
	if !Reports(p) || !refname.ValidCommit(job.Commit) {
		return Record{}, false
	}
	r, err := NewRecord(p, job.Ref, job.Commit, state, description, at)
	return r, err == nil
}
