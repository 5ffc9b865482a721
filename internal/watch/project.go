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
// build_existing = False records them instead (see recordExisting).
func (w *Watcher) pollProject(p *config.Project, refs []git.Ref, pending map[string]string) {
	recording, recordedAll := !p.BuildExisting && !recorded.Polled(w.layout, p.Name), true
	for _, ref := range refs {
		if !polling.Wanted(p, ref.Name) {
			continue
		}
		job := spool.Job{Project: p.Name, Ref: ref.Name, Commit: ref.Commit, Source: spool.SourceWatch}
		if where := pending[job.Key()]; where != "" {
			w.rep.decide(p, ref, actionSkipped, "already "+where)
			continue
		}
		if dir := w.layout.Existing(p.Name, ref.Name, ref.Commit); dir != "" {
			detail := "already built in " + dir
			switch {
			case strings.HasSuffix(dir, workdir.TmpSuffix):
				detail += " (not successful, or still running)"
			case strings.HasSuffix(dir, workdir.RecordedSuffix):
				detail = "recorded without a build in " + dir + " (build_existing = False)"
			}
			w.rep.decide(p, ref, actionSkipped, detail)
			continue
		}
		if recording {
			recordedAll = w.recordExisting(p, ref) && recordedAll
			continue
		}
		name, err := w.spool.Write(job)
		if err != nil {
			w.log.Error("cannot write a job", "project", p.Name, "ref", ref.Name, "error", err.Error())
			w.rep.decide(p, ref, actionError, "cannot write the job: "+err.Error())
			continue
		}
		w.log.Info("enqueued", "project", p.Name, "ref", ref.Name, "commit", workdir.ShortCommit(ref.Commit), "job", name)
		w.rep.decide(p, ref, actionQueued, "job "+name)
	}
	if recording && recordedAll {
		w.markPolled(p)
	}
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
