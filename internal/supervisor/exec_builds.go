package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/env"
	"pipelined/internal/outcome"
	"pipelined/internal/procexec"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// procTable holds how to cancel each build the daemon started itself: its context.
type procTable struct {
	mu  sync.Mutex
	own map[int]context.CancelFunc
}

func (t *procTable) set(id int, cancel context.CancelFunc) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.own[id] = cancel
}

func (t *procTable) take(id int) context.CancelFunc {
	t.mu.Lock()
	defer t.mu.Unlock()
	cancel := t.own[id]
	delete(t.own, id)
	return cancel
}

func (t *procTable) get(id int) context.CancelFunc {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.own[id]
}

// startBuild claims a job and runs pipeline-build for it, on the spool executor. The build
// is detached: should the daemon die, it goes on, and the next daemon adopts it.
func (r *runtime) startBuild(e StartBuild) {
	name, err := r.jobs.Claim(e.Name)
	switch {
	case errors.Is(err, spool.ErrClaimed):
		r.send(BuildNotStarted{ID: e.ID, Err: err, Gone: true})
		return
	case err != nil:
		r.send(BuildNotStarted{ID: e.ID, Err: err, Claim: true})
		return
	}
	r.scan.forget(e.Name)
	out := &tail{max: 4096}
	// Not the group's context: a build outlives the daemon (a drain waits for it, and a
	// shutdown cancels it through CancelBuild).
	ctx, cancel := context.WithCancel(context.Background())
	argv := []string{r.o.Build, "--config", r.layout.ConfigSnapshot(), "--workdir", r.layout.Root,
		"--grace", r.o.Grace.String(), "--job", r.jobs.Spool().Path(spool.Cur, name)}
	if e.Engine.Name != "" {
		argv = append(argv, "--engine", e.Engine.Name+"="+e.Engine.Host) // pipeline-build sets its DOCKER_HOST
	}
	// The job is locked before the build starts, and the locked file handed down to it: a
	// daemon killed at any moment from here leaves either no build, or a build holding its
	// job, never a running build whose job looks abandoned.
	locked, err := r.jobs.Spool().Lock(name)
	var p *procexec.Process
	if err == nil {
		p, err = procexec.Start(ctx, procexec.Cmd{Argv: argv, Env: append(os.Environ(), spool.JobFDEnv+"=3"), Output: out,
			Grace: buildKillAfter(r.o.Grace), Detach: true, ExtraFiles: []*os.File{locked}})
		locked.Close()
	}
	if err != nil {
		cancel()
		if _, rerr := r.jobs.Requeue(name); rerr != nil {
			err = fmt.Errorf("%v; and putting the job back into new/: %v", err, rerr)
		}
		r.send(BuildNotStarted{ID: e.ID, Err: err})
		return
	}
	group, _ := procexec.GroupOf(p.Pid)
	r.procs.set(e.ID, cancel)
	r.send(BuildStarted{ID: e.ID, Name: name, Group: group})
	r.group.Go(func(context.Context) {
		res, _ := p.Wait()
		r.procs.take(e.ID)
		cancel()
		ending := outcome.Ending{Exited: true, Code: res.ExitCode, Signal: res.Signal}
		r.send(BuildEnded{ID: e.ID, Facts: r.gather(name, e.Job, ending, out.lastLines())})
	})
}

// adoptedPoll is how often the lock of an adopted build's job is probed: the build is not
// the daemon's child, and a probe (never a wait in the kernel) leaves the daemon free to
// exit.
const adoptedPoll = 250 * time.Millisecond

// waitAdopted waits for a build a previous daemon started to end: its lock on the job file
// goes when its process does.
func (r *runtime) waitAdopted(ctx context.Context, e Adopt) {
	path := r.jobs.Spool().Path(spool.Cur, e.Name)
	t := time.NewTicker(adoptedPoll)
	defer t.Stop()
	for spool.Locked(path) {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
	r.send(BuildEnded{ID: e.ID, Facts: r.gather(e.Name, e.Job, outcome.Ending{}, "")})
}

// gather reads what a build's records say once its process is gone, so that the machine
// can decide its job's outcome. If the process died before recording a result, or during
// error_callback (which runs after the result is recorded), nothing its steps started
// outlives it: the recorded process groups and the processes with its BUILD_RUN_PATH are
// killed.
func (r *runtime) gather(name string, job spool.Job, e outcome.Ending, stderr string) Facts {
	e.Cancel = r.jobs.CancelOf(name)
	dir, st := buildlog.LatestOfJob(r.layout.RefDir(job.Project, job.Ref), name, r.jobs.ClaimedAt(name))
	if st != nil {
		e.Result, e.Retry = st.Result, st.Retry
		// The build read the stop record when it was canceled: what it recorded stands even
		// if the record is gone.
		if st.Reason == outcome.StoppedReason && e.Cancel.Kind < outcome.Stopped {
			e.Cancel = outcome.Cancel{Kind: outcome.Stopped, Reason: st.Reason}
		}
		if st.Result == outcome.Running || len(st.Groups) > 0 {
			killGroups(st.Groups)
			procexec.KillByEnv(env.BuildRunPath, dir)
			if st.Result != outcome.Running {
				st.Groups = nil
				_ = st.Save(workdir.StatusPath(dir))
			}
		}
	}
	return Facts{Ending: e, Dir: dir, Status: st, Stderr: stderr}
}

// cancelBuild records why a build is canceled, then signals it. A record that cannot be
// written stops a cancel on purpose (the build runs on: canceled without its record, its
// job would be built again), but never a shutdown.
func (r *runtime) cancelBuild(e CancelBuild) {
	_, err := r.jobs.Cancel(e.Name, e.Cancel)
	if errors.Is(err, fs.ErrNotExist) {
		err = nil // it has ended and its job is settled: nothing to record
	}
	if err != nil && e.Cancel.Kind != outcome.Stopped {
		r.send(CancelRecorded{ID: e.ID, Kind: e.Cancel.Kind, Err: err})
		return
	}
	if cancel := r.procs.get(e.ID); cancel != nil {
		cancel() // procexec sends SIGTERM, and SIGKILL after the grace period
	} else {
		e.Group.Kill(syscall.SIGTERM)
	}
	r.send(CancelRecorded{ID: e.ID, Kind: e.Cancel.Kind, Err: err})
}

// kill kills process groups at once, and what the listed builds' steps left, off the loop.
func (r *runtime) kill(e KillGroups) {
	killGroups(e.Groups)
	if len(e.Leftovers) == 0 {
		return
	}
	r.group.Go(func(context.Context) {
		for _, b := range e.Leftovers {
			if dir, st := buildlog.LatestOfJob(r.layout.RefDir(b.Job.Project, b.Job.Ref), b.Name, r.jobs.ClaimedAt(b.Name)); st != nil {
				killGroups(st.Groups)
				procexec.KillByEnv(env.BuildRunPath, dir)
			}
		}
	})
}

// killGroups kills what is left of process groups.
func killGroups(groups []procexec.Group) {
	for _, g := range groups {
		_ = g.Kill(syscall.SIGKILL)
	}
}

// settle carries out an outcome on a job file, on the spool executor.
func (r *runtime) settle(s Settle) JobSettled {
	ev := JobSettled{Name: s.Name, Outcome: s.Outcome}
	if s.Dead != nil && !s.Recorded {
		if err := s.Dead.Status.Save(workdir.StatusPath(s.Dead.Dir)); err != nil {
			ev.RecordErr = err
		} else {
			r.log.Warn("recorded the end of a build whose process died", "dir", s.Dead.Dir, "result", s.Dead.Status.Result,
				"reason", s.Dead.Status.Reason)
		}
		if s.RemoveContainers {
			st := *s.Dead.Status
			r.group.Go(func(ctx context.Context) { r.removeContainersOf(ctx, s.Dead.Dir, &st) })
		}
	}
	if s.Moved {
		return ev
	}
	var err error
	switch s.Outcome {
	case outcome.Done, outcome.Withdraw:
		err = r.jobs.Finish(s.Name)
	case outcome.Requeue:
		ev.Queued, err = r.jobs.Requeue(s.Name)
	case outcome.Retry:
		if len(s.Attempts) >= outcome.MaxAttempts {
			ev.Dest, err = r.giveUp(s)
		} else {
			ev.Queued, err = r.jobs.Retry(s.Name, s.Job, s.Attempts)
		}
	}
	ev.Err = err
	ev.InCur = err != nil && r.jobs.Spool().Claimed(s.Name)
	return ev
}

// giveUp sets aside a job that an infrastructure error stopped outcome.MaxAttempts times,
// with every attempt's reason.
func (r *runtime) giveUp(s Settle) (string, error) {
	var b strings.Builder
	for i, a := range s.Attempts {
		fmt.Fprintf(&b, "attempt %d at %s: %s\n", i+1, a.At.Format(time.RFC3339), a.Reason)
	}
	reasons := strings.TrimSuffix(b.String(), "\n")
	dest, err := r.jobs.SetAside(spool.Cur, s.Name, reasons)
	switch {
	case err != nil && dest == "":
		return "", err
	case err != nil:
		r.log.Error("moved a job that keeps failing to bad/, without its reason file", "job", s.Name, "error", err.Error(),
			"reasons", reasons)
	}
	return dest, nil
}

// setAside moves a file that is not a job to bad/, with the reason (SPEC §5.1).
func (r *runtime) setAside(e SetAside) {
	dest, err := r.jobs.SetAside(e.Sub, e.Name, e.Reason)
	switch {
	case err != nil && dest == "":
		r.log.Error("cannot move a job file to bad/", "job", e.Name, "error", err.Error())
	case err != nil:
		r.log.Warn("rejected a job file", "job", e.Name, "reason", e.Reason, "moved_to", dest, "error", err.Error())
	default:
		r.log.Warn("rejected a job file", "job", e.Name, "reason", e.Reason, "moved_to", dest)
	}
}

// drop removes a queued job whose want is met.
func (r *runtime) drop(e Drop) {
	if err := r.jobs.Drop(e.Name); err != nil {
		r.log.Error("cannot remove a dropped job", "job", e.Name, "error", err.Error())
	}
}

// recover sorts out, on the spool executor, what a previous daemon left (SPEC §5, §8): the
// claimed jobs, adopted if their build runs, else decided like any build whose process is
// gone. Then, off the executor, every build.json that says running for a process that is
// gone is marked failed, and removals of builds that a shutdown interrupted are finished.
func (r *runtime) recover() {
	var jobs []Claimed
	entries, err := r.jobs.Spool().List(spool.Cur)
	if err != nil {
		r.log.Error("cannot list spool/cur/", "error", err.Error())
	}
	for _, e := range entries {
		jobs = append(jobs, r.recoverJob(e.Name))
	}
	r.send(Recovered{Jobs: jobs})
	r.group.Go(func(context.Context) {
		r.markDeadBuilds()
		r.finishRemovals()
	})
}

// recoverJob looks at one claimed job.
func (r *runtime) recoverJob(name string) Claimed {
	c := Claimed{Name: name}
	job, err := r.jobs.Read(spool.Cur, name)
	var rej *spool.RejectError
	switch {
	case errors.As(err, &rej):
		c.Bad = rej.Reason
		return c
	case err != nil:
		c.Bad = "cannot be read: " + err.Error()
		return c
	}
	c.Job = job
	if spool.Locked(r.jobs.Spool().Path(spool.Cur, name)) {
		c.Running = true
		_, c.Status = buildlog.LatestOfJob(r.layout.RefDir(job.Project, job.Ref), name, r.jobs.ClaimedAt(name))
		c.Facts.Cancel = r.jobs.CancelOf(name)
		if c.Status == nil {
			// Killed before its build.json was written (it resolves its commit): without a
			// pid, a shutdown could not cancel it. It leads its group (procexec.Start).
			if pid, start, ok := procexec.FindByArgs("--job", r.jobs.Spool().Path(spool.Cur, name)); ok {
				c.Group = procexec.Group{PGID: pid, Start: start}
			}
		}
		return c
	}
	c.Facts = r.gather(name, job, outcome.Ending{}, "")
	return c
}

// markDeadBuilds marks failed every build.json that says running while its process is
// gone: a build run by hand and killed, or a build whose job recovery has already dealt
// with. None stays "running" for ever (SPEC §5.1).
func (r *runtime) markDeadBuilds() {
	builds, err := r.layout.Builds()
	if err != nil {
		return
	}
	for _, b := range builds {
		path := workdir.StatusPath(b.Dir)
		st, err := buildlog.LoadStatus(path)
		if err != nil || st.Result != outcome.Running || st.Alive() {
			continue
		}
		killGroups(st.Groups)
		procexec.KillByEnv(env.BuildRunPath, b.Dir)
		st.Groups = nil
		st.Result, st.Finished = outcome.Failed, time.Now().UTC()
		st.Reason = fmt.Sprintf("pipeline-build (pid %d) died before it recorded a result; found at start-up", st.PID)
		if err := st.Save(path); err == nil {
			r.log.Warn("marked a dead build failed", "dir", b.Dir, "reason", st.Reason)
		}
	}
}

// finishRemovals deletes what a removal of builds interrupted by a shutdown left renamed
// aside (workdir.RemovingName): the build was gone already.
func (r *runtime) finishRemovals() {
	for _, dir := range r.layout.Removals() {
		if err := os.RemoveAll(dir); err != nil {
			r.log.Warn("cannot finish removing a build", "dir", dir, "error", err.Error())
			continue
		}
		r.log.Info("finished removing a build", "dir", dir)
	}
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	b   []byte
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

// lastLines is the end of the output: its last five lines, at most 1,000 bytes.
func (t *tail) lastLines() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(string(t.b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	out := strings.Join(lines, "\n")
	if len(out) > 1000 {
		out = "…" + out[len(out)-1000:]
	}
	return out
}
