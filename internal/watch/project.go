package watch

import (
	"strings"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/git"
	"pipelined/internal/polling"
	"pipelined/internal/recorded"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// pollProject writes the jobs of one project for the refs its remote listed: those it
// wants, neither queued nor running nor built yet. The first poll of a project with
// build_existing = False records them instead (see recordExisting); it is the first until
// one is complete: its pull requests listed too.
func (w *Watcher) pollProject(p *config.Project, refs []git.Ref, pending map[string]string, complete bool) {
	recording, recordedAll := !p.BuildExisting && !recorded.Polled(w.layout, p.Name), true
	for _, ref := range refs {
		switch action, detail := decideRef(p, ref, pending, w.layout.Existing, recording); action {
		case actionSkipped:
			w.rep.decide(p, ref, actionSkipped, detail)
		case actionRecorded:
			recordedAll = w.recordExisting(p, ref) && recordedAll
		case actionQueued:
			w.enqueue(p, ref)
		}
	}
	if recording && recordedAll && complete {
		w.markPolled(p)
	}
}

// decideRef says what a poll does with a ref that project p's remote listed: "" (no line
// in the report) when p does not build it; actionSkipped, with why, when its job is queued
// or running (pending: job key → where) or its commit has a build directory or a record
// (existing, asked only then, returns it; "" if none); actionRecorded on the first poll of
// a project with build_existing = False (recording); actionQueued otherwise.
func decideRef(p *config.Project, ref git.Ref, pending map[string]string,
	existing func(project, ref, commit string) string, recording bool) (action, detail string) {
	if !polling.Wanted(p, ref.Name) {
		return "", ""
	}
	job := spool.Job{Project: p.Name, Ref: ref.Name, Commit: ref.Commit}
	if where := pending[job.Key()]; where != "" {
		return actionSkipped, "already " + where
	}
	if dir := existing(p.Name, ref.Name, ref.Commit); dir != "" {
		return actionSkipped, builtDetail(dir)
	}
	if recording {
		return actionRecorded, RecordedReason
	}
	return actionQueued, ""
}

// builtDetail says why a commit with a directory (a build's, or a record's) is skipped.
func builtDetail(dir string) string {
	switch {
	case strings.HasSuffix(dir, workdir.TmpSuffix):
		return "already built in " + dir + " (not successful, or still running)"
	case strings.HasSuffix(dir, workdir.RecordedSuffix):
		return "recorded without a build in " + dir + " (build_existing = False)"
	}
	return "already built in " + dir
}

// enqueue writes the job of a ref's commit.
func (w *Watcher) enqueue(p *config.Project, ref git.Ref) {
	job := spool.Job{Project: p.Name, Ref: ref.Name, Commit: ref.Commit, Source: spool.SourceWatch}
	name, err := w.spool.Write(job)
	if err != nil {
		w.log.Error("cannot write a job", "project", p.Name, "ref", ref.Name, "error", err.Error())
		w.rep.decide(p, ref, actionError, "cannot write the job: "+err.Error())
		return
	}
	w.log.Info("enqueued", "project", p.Name, "ref", ref.Name, "commit", workdir.ShortCommit(ref.Commit), "job", name)
	w.rep.decide(p, ref, actionQueued, "job "+name)
}

// RecordedReason is what a recorded marker, `pipelined status` and the pages say of a
// commit that build_existing = False kept from being built.
const RecordedReason = "existed at the project's first poll (build_existing = False): recorded, not built"

// recordExisting writes the marker of a ref's commit found at the first poll of a project
// with build_existing = False (workdir.RecordedSuffix): the watcher then takes it as built,
// and a later commit of the ref, or a ref created later, is built as usual. It reports
// whether the marker was written.
func (w *Watcher) recordExisting(p *config.Project, ref git.Ref) bool {
	err := recorded.Write(w.layout, recorded.Record{Project: p.Name, Ref: ref.Name, Commit: ref.Commit,
		Recorded: time.Now().UTC(), Reason: RecordedReason})
	if err != nil {
		w.log.Error("cannot record a ref", "project", p.Name, "ref", ref.Name, "error", err.Error())
		w.rep.decide(p, ref, actionError, "cannot record it: "+err.Error())
		return false
	}
	w.log.Info("recorded without a build", "project", p.Name, "ref", ref.Name, "commit", workdir.ShortCommit(ref.Commit),
		"reason", "build_existing = False")
	w.rep.decide(p, ref, actionRecorded, RecordedReason)
	return true
}

// markPolled says, in the project's directory, that its first poll is over: what the
// watcher finds from now on is built. Should the marker fail, the next poll records
// again, which builds nothing either.
func (w *Watcher) markPolled(p *config.Project) {
	if err := recorded.MarkPolled(w.layout, p.Name, time.Now()); err != nil {
		w.log.Error("cannot mark the first poll", "project", p.Name, "error", err.Error())
	}
}
