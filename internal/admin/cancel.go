package admin

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"syscall"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/config"
	"pipelined/internal/exitcode"
	"pipelined/internal/forge"
	"pipelined/internal/outcome"
	"pipelined/internal/procexec"
	"pipelined/internal/refname"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// CancelOptions say which jobs and builds `pipelined cancel` stops.
type CancelOptions struct {
	Workdir string
	Project string
	Ref     string // "" for every ref; a full ref, or a branch or tag name
	Commit  string // "" for every commit; a full commit or a prefix of at least 4 hex digits
}

// CancelReason is what build.json and the daemon's log say of a build canceled by hand.
const CancelReason = "canceled by hand"

// ErrNothingMatched: `pipelined cancel` found no queued job and no running build to stop.
var ErrNothingMatched = errors.New("no queued job or running build matches")

// Cancel drops the queued jobs and cancels the running builds that match, whether the
// daemon runs or not, and writes a line for each. A queued job is claimed (so that the
// daemon cannot start it meanwhile) and removed. A running build gets a marker beside its
// job saying why, then SIGTERM: it stops its command and container, runs error_callback
// with BUILD_STATUS=canceled and records "canceled by hand"; the daemon, now or at its next
// start, then removes the job instead of building it again (SPEC §5.1). It returns
// ErrNothingMatched when nothing matched.
func Cancel(w io.Writer, o CancelOptions) error {
	if o.Commit != "" && !validCommitPrefix(o.Commit) {
		return exitcode.Usagef("commit %q is not 4 to 64 lower-case hex digits", o.Commit)
	}
	layout, jobs, err := openSpool(o.Workdir)
	if err != nil {
		return err
	}
	n := dropQueued(w, layout, jobs, o)
	n += cancelClaimed(w, layout, jobs, o)
	n += cancelHandBuilds(w, layout, o)
	if n == 0 {
		return ErrNothingMatched
	}
	return nil
}

// dropQueued claims and removes the matching queued jobs, and returns how many it dropped.
func dropQueued(w io.Writer, layout workdir.Layout, jobs *outcome.Jobs, o CancelOptions) int {
	sp := jobs.Spool()
	n := 0
	queued, _ := sp.List(spool.New)
	for _, e := range queued {
		j, err := sp.Read(spool.New, e.Name)
		if err != nil || !o.matches(j, "") {
			continue
		}
		j.Attempts = jobs.Attempts(e.Name) // gone with the job
		switch err := jobs.CancelQueued(e.Name); {
		case errors.Is(err, spool.ErrClaimed):
			continue // the daemon took it: it is among the claimed jobs cancelClaimed sees
		case err != nil:
			fmt.Fprintf(w, "could not drop queued job %s: %v\n", e.Name, err)
			continue
		}
		fmt.Fprintf(w, "dropped queued job %s: %s\n", e.Name, describeJob(j, ""))
		reportDropped(w, layout, j)
		n++
	}
	return n
}

// reportDropped queues the forge status of a dropped job that had shown a pending retry
// (forge.DroppedReport), where the daemon's last configuration (its snapshot) sends it; the
// daemon delivers it. Without a snapshot nothing was reported, and nothing is.
func reportDropped(w io.Writer, layout workdir.Layout, j spool.Job) {
	if len(j.Attempts) == 0 {
		return
	}
	cfg, err := config.Load(layout.ConfigSnapshot())
	if err != nil {
		return
	}
	rec, ok := forge.DroppedReport(cfg.Project(j.Project), j, "canceled: "+CancelReason, time.Now())
	if !ok {
		return
	}
	if err := forge.Enqueue(layout.OutboxDir(), rec); err != nil {
		fmt.Fprintf(w, "the forge will not show it: %v\n", err)
	}
}

// cancelClaimed withdraws the matching jobs the daemon has claimed and stops their
// builds; it returns how many it withdrew.
func cancelClaimed(w io.Writer, layout workdir.Layout, jobs *outcome.Jobs, o CancelOptions) int {
	n := 0
	claimed, _ := jobs.Spool().List(spool.Cur)
	for _, e := range claimed {
		if cancelClaimedJob(w, layout, jobs, o, e.Name) {
			n++
		}
	}
	return n
}

// cancelClaimedJob withdraws the claimed job name if it matches, with a marker beside it,
// then sends SIGTERM to its build once the build has said which process it is (a build
// that has not started yet sees the marker as it starts). It reports whether it withdrew
// the job.
func cancelClaimedJob(w io.Writer, layout workdir.Layout, jobs *outcome.Jobs, o CancelOptions, name string) bool {
	sp := jobs.Spool()
	j, err := sp.Read(spool.Cur, name)
	if err != nil {
		return false
	}
	dir, st := latestBuild(layout, jobs, j, name)
	if !o.matches(j, commitOf(st)) {
		return false
	}
	wrote, err := jobs.Cancel(name, outcome.Cancel{Kind: outcome.Withdrawn, Reason: CancelReason})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false // its build ended and the daemon settled the job meanwhile: nothing to cancel
	case err != nil:
		fmt.Fprintf(w, "could not cancel %s: %v\n", name, err)
		return false
	case !wrote:
		return false // withdrawn already
	}
	if !spool.Locked(sp.Path(spool.Cur, name)) {
		fmt.Fprintf(w, "canceled job %s: %s (no build of it runs; it will not run)\n", name, describeJob(j, commitOf(st)))
		return true
	}
	if st == nil || st.Result != outcome.Running {
		// The build holds its job but has not written its status yet.
		dir, st = waitForStatus(layout, jobs, j, name)
	}
	if st != nil && procexec.Signal(st.PID, st.PIDStart, syscall.SIGTERM) {
		fmt.Fprintf(w, "canceling running build %s (pid %d): %s\n", dir, st.PID, describeJob(j, st.Commit))
	} else {
		fmt.Fprintf(w, "canceled job %s: %s (its build stops as it starts)\n", name, describeJob(j, commitOf(st)))
	}
	return true
}

// cancelHandBuilds cancels the matching builds run by hand (without a job file), with
// the marker in their build directory.
func cancelHandBuilds(w io.Writer, layout workdir.Layout, o CancelOptions) int {
	builds, _ := layout.Builds()
	n := 0
	for _, b := range builds {
		if b.Project != o.Project {
			continue
		}
		st, err := buildlog.LoadStatus(workdir.StatusPath(b.Dir))
		if err != nil || st.Job != "" || st.Result != outcome.Running || !st.Alive() {
			continue
		}
		if !o.matches(spool.Job{Project: st.Project, Ref: st.Ref, Commit: st.Commit}, st.Commit) {
			continue
		}
		if _, err := outcome.WriteCancel(outcome.BuildCancelPath(b.Dir), outcome.Cancel{Kind: outcome.Withdrawn, Reason: CancelReason}); err != nil {
			continue
		}
		if procexec.Signal(st.PID, st.PIDStart, syscall.SIGTERM) {
			fmt.Fprintf(w, "canceling running build %s (pid %d, run by hand): %s\n", b.Dir, st.PID, describeJob(spool.Job{Project: st.Project, Ref: st.Ref}, st.Commit))
			n++
		}
	}
	return n
}

// matches reports whether a job (whose build resolved built, maybe "") is one to cancel.
func (o CancelOptions) matches(j spool.Job, built string) bool {
	if j.Project != o.Project {
		return false
	}
	if o.Ref != "" && j.Ref != o.Ref && refname.ShortName(j.Ref) != o.Ref {
		return false
	}
	commit := j.Commit
	if commit == "" {
		commit = built
	}
	return o.Commit == "" || strings.HasPrefix(commit, o.Commit)
}

func validCommitPrefix(c string) bool {
	if len(c) < 4 || len(c) > 64 {
		return false
	}
	for _, r := range c {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// describeJob is "PROJECT REF SHORT" for the lines Cancel writes.
func describeJob(j spool.Job, built string) string {
	commit := j.Commit
	if commit == "" {
		commit = built
	}
	short := workdir.ShortCommit(commit)
	if short == "" {
		short = "(its ref's latest commit)"
	}
	return j.Project + " " + j.Ref + " " + short
}

func commitOf(st *buildlog.Status) string {
	if st == nil {
		return ""
	}
	return st.JobCommit()
}

// latestBuild finds the build directory and status of a job's latest attempt.
func latestBuild(layout workdir.Layout, jobs *outcome.Jobs, j spool.Job, name string) (string, *buildlog.Status) {
	return buildlog.LatestOfJob(layout.RefDir(j.Project, j.Ref), name, jobs.ClaimedAt(name))
}

// waitForStatus waits a little for a starting build to write its status.
func waitForStatus(layout workdir.Layout, jobs *outcome.Jobs, j spool.Job, name string) (string, *buildlog.Status) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		dir, st := latestBuild(layout, jobs, j, name)
		if st != nil && st.Result == outcome.Running || time.Now().After(deadline) {
			return dir, st
		}
		time.Sleep(50 * time.Millisecond)
	}
}
