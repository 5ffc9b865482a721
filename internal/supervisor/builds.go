package supervisor

import (
	"context"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/env"
	"pipelined/internal/forge"
	"pipelined/internal/procexec"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// build is a running pipeline-build: one the daemon started, or one a previous daemon
// started and this one adopted after a restart.
type build struct {
	name    string // job file name in spool/cur/
	job     spool.Job
	started time.Time
	proc    *procexec.Process // nil when adopted
	cancel  func()            // cancels a build the daemon started (not an adopted one)
	group   procexec.Group    // pipeline-build's own process group, when known
	output  *tail             // the end of its stderr
	// withdrawn is set once the build is being canceled on purpose (superseded).
	withdrawn bool
	engine    string // the Docker engine it runs on, "" for a project without Docker
}

// ended reports that a build's process is gone, with what the records say.
type ended struct {
	name    string
	ending  spool.Ending
	outcome spool.Outcome
	why     string // the outcome's reason
	dir     string // the build directory, "" if there is none
	status  *buildlog.Status
	unsaved bool // status was corrected (a dead build marked failed) but could not be written
}

// retryDispatch asks the main loop to dispatch again after a pause.
type retryDispatch struct{}

// start runs pipeline-build for a claimed job. The build is detached: should the daemon
// die, the build goes on, and the next daemon adopts it.
func (s *supervisor) start(name string, job spool.Job, engineName string) {
	out := &tail{max: 4096}
	ctx, cancel := context.WithCancel(s.buildsCtx)
	argv := []string{s.o.Build, "--config", s.layout.ConfigSnapshot(), "--workdir", s.layout.Root,
		"--grace", s.o.Grace.String(), "--job", s.spool.Path(spool.Cur, name)}
	env := os.Environ()
	if e, ok := s.pool.Get(engineName); ok {
		argv = append(argv, "--engine", e.Name+"="+e.Host) // pipeline-build sets its DOCKER_HOST
	}
	// The job is locked before the build starts, and the locked file handed down to it: a
	// daemon killed at any moment from here leaves either no build, or a build holding
	// its job, never a running build whose job looks abandoned.
	locked, err := s.spool.Lock(name)
	var p *procexec.Process
	if err == nil {
		p, err = procexec.Start(ctx, procexec.Cmd{
			Argv:       argv,
			Env:        append(env, spool.JobFDEnv+"=3"),
			Output:     out,
			Grace:      buildKillAfter(s.o.Grace),
			Detach:     true,
			ExtraFiles: []*os.File{locked},
		})
		locked.Close()
	}
	if err != nil {
		cancel()
		// Requeuing fires the spool watch again: without a pause this would spin until
		// the binary is back (it went missing during an upgrade, say).
		s.pausedUntil = time.Now().Add(startRetry)
		s.log.Error("cannot start pipeline-build; the job goes back into the queue", "job", name,
			"error", err.Error(), "retry_in", startRetry.String())
		s.spool.Requeue(name)
		s.changed()
		time.AfterFunc(startRetry, func() { s.send(retryDispatch{}) })
		return
	}
	b := &build{name: name, job: job, started: time.Now(), proc: p, cancel: cancel, output: out, engine: engineName}
	b.group, _ = procexec.GroupOf(p.Pid)
	s.track(b)
	attrs := []any{"project", job.Project, "ref", job.Ref, "commit", workdir.ShortCommit(job.Commit), "job", name, "pid", p.Pid}
	if engineName != "" {
		attrs = append(attrs, "engine", engineName)
	}
	s.log.Info("dispatched build", attrs...)
	s.refreshPages()
	go func() {
		res, _ := p.Wait()
		s.send(s.settle(b, spool.Ending{Exited: true, Code: res.ExitCode, Signal: res.Signal}))
	}()
}

// adopt takes over a build a previous daemon started, which still runs: it counts
// against the limit, and its end is noticed when its lock on the job file goes.
func (s *supervisor) adopt(name string, job spool.Job, st *buildlog.Status) {
	b := &build{name: name, job: job, started: time.Now(), output: &tail{}}
	if st != nil {
		b.group = procexec.Group{PGID: st.PID, Start: st.PIDStart}
		b.started = st.Started
		if _, ok := s.pool.Get(st.Engine); ok {
			b.engine = st.Engine
		}
	}
	s.track(b)
	s.log.Info("adopted a running build", "project", job.Project, "ref", job.Ref, "job", name, "pid", b.group.PGID)
	path := s.spool.Path(spool.Cur, name)
	go func() {
		spool.WaitUnlocked(path)
		s.send(s.settle(b, spool.Ending{}))
	}()
}

// track adds a build to the running set, which the shutdown watchdog can read too.
func (s *supervisor) track(b *build) {
	s.builds[b.name] = b
	if b.engine != "" {
		s.pool.Take(b.engine)
		s.publishEngines()
		s.armEngineChecks()
	}
	s.groupsMu.Lock()
	s.groups[b.name] = b.group
	s.groupsMu.Unlock()
}

func (s *supervisor) untrack(name string) {
	if b := s.builds[name]; b != nil {
		if b.cancel != nil {
			b.cancel()
		}
		if b.engine != "" {
			s.pool.Release(b.engine)
			s.publishEngines()
		}
	}
	delete(s.builds, name)
	s.groupsMu.Lock()
	delete(s.groups, name)
	s.groupsMu.Unlock()
}

// settle runs on the build's waiting goroutine once its process is gone, so that the
// build.json I/O never holds up the main loop: it reads the records, decides the outcome
// (SPEC §5.1), and if the process died before recording a result, kills what its steps
// left running and marks its build.json failed.
func (s *supervisor) settle(b *build, e spool.Ending) ended {
	e.Stopping = s.stopping.Load()
	e.Withdrawn, e.Interrupted, e.Stopped = s.spool.Withdrawn(b.name), s.spool.Interrupted(b.name), s.spool.Stopped(b.name)
	dir, st := findBuild(s.layout, b.job, b.name)
	if st != nil {
		e.Result, e.Retry = st.Result, st.Retry
		// The build read the stop marker when it was canceled: what it recorded stands
		// even if the marker is gone.
		e.Stopped = e.Stopped || st.Reason == spool.StoppedReason
	}
	outcome, why := spool.Decide(e)
	unsaved := false
	if st != nil && (st.Result == buildlog.Running || len(st.Groups) > 0) {
		// The process is gone but its records say commands ran: it died before it had
		// recorded a result, or during error_callback (which runs after the result is
		// recorded). Nothing its steps started outlives it.
		killGroups(st.Groups)
		procexec.KillByEnv(env.BuildRunPath, dir)
		st.Groups = nil
		if st.Result != buildlog.Running {
			_ = st.Save(workdir.StatusPath(dir))
		}
	}
	if st != nil && st.Result == buildlog.Running {
		st.Finished = time.Now().UTC()
		if outcome == spool.Requeue {
			st.Result, st.Reason = buildlog.Canceled, "killed after the grace period while pipelined stopped"
		} else {
			st.Result, st.Reason, st.Retry = buildlog.Failed, why, outcome == spool.Retry
		}
		unsaved = st.Save(workdir.StatusPath(dir)) != nil
		s.removeContainersLater(dir, st)
	}
	return ended{name: b.name, ending: e, outcome: outcome, why: why, dir: dir, status: st, unsaved: unsaved}
}

// withdraw cancels a running build on purpose: the marker beside its job says why (for
// its build.json, and so that its job is removed rather than built again), then the build
// is stopped as at a shutdown: SIGTERM, and SIGKILL after the grace period.
func (s *supervisor) withdraw(b *build, reason string) {
	if err := s.spool.Withdraw(b.name, reason); err != nil {
		s.log.Error("cannot mark a build as canceled on purpose; it runs on", "job", b.name, "error", err.Error())
		return
	}
	b.withdrawn = true
	s.log.Info("canceling a running build", "project", b.job.Project, "ref", b.job.Ref,
		"commit", workdir.ShortCommit(b.job.Commit), "job", b.name, "reason", reason)
	if b.cancel != nil {
		b.cancel()
		return
	}
	s.stopAdopted(b)
}

// stopAdopted signals an adopted build as procexec does the daemon's own: SIGTERM to its
// process group, SIGKILL after buildKillAfter.
func (s *supervisor) stopAdopted(b *build) {
	if b.group.PGID <= 0 {
		return
	}
	g := b.group
	g.Kill(syscall.SIGTERM)
	time.AfterFunc(buildKillAfter(s.o.Grace), func() { g.Kill(syscall.SIGKILL) })
}

// killGroups kills what is left of the process groups a dead build recorded.
func killGroups(groups []procexec.Group) {
	for _, g := range groups {
		_ = g.Kill(syscall.SIGKILL)
	}
}

// findBuild finds the build directory and status of a job's latest attempt.
func findBuild(layout workdir.Layout, job spool.Job, name string) (string, *buildlog.Status) {
	return buildlog.LatestOfJob(layout.RefDir(job.Project, job.Ref), name)
}

// finish applies the outcome of a build whose process is gone (SPEC §5.1) and logs one
// line for it.
func (s *supervisor) finish(ev ended) {
	b := s.builds[ev.name]
	if b == nil {
		return
	}
	s.untrack(ev.name)
	if ev.status != nil && ev.status.EngineDown && b.engine != "" {
		s.engineFailed(b.engine, ev.status.Reason)
	}
	s.settleJob(ev.name, b.job, ev, b.output.lastLines(), time.Since(b.started))
}

// settleJob carries out an outcome on a job in cur/ and logs the one line of SPEC §5.1:
// project, ref, commit, result and outcome, and unless the build succeeded, the reason and
// the end of pipeline-build's stderr.
func (s *supervisor) settleJob(name string, job spool.Job, ev ended, stderr string, took time.Duration) {
	result, reason := "none", ""
	if ev.status != nil {
		result, reason = ev.status.Result, ev.status.Reason
	}
	attrs := []any{"project", job.Project, "ref", job.Ref, "commit", workdir.ShortCommit(job.Commit), "result", result,
		"outcome", ev.outcome.String()}
	if took > 0 {
		attrs = append(attrs, "took", took.Round(time.Millisecond).String())
	}
	attrs = append(attrs, "job", name)
	if ev.dir != "" {
		attrs = append(attrs, "dir", ev.dir)
	}
	switch {
	case ev.outcome == spool.Retry || ev.outcome == spool.Requeue:
		reason = orWhy(ev.why, reason, stderr)
	case reason == "":
		reason = ev.why
	}
	if result != buildlog.Success && reason != "" {
		attrs = append(attrs, "reason", reason)
	}
	if result != buildlog.Success && stderr != "" {
		attrs = append(attrs, "stderr", stderr)
	}
	level := s.log.Info
	stuck := stuckJob{outcome: ev.outcome}
	switch ev.outcome {
	case spool.Done, spool.Withdrawn:
		if err := s.spool.Remove(spool.Cur, name); err != nil {
			s.log.Error("cannot remove a finished job; trying again every minute", "job", name, "error", err.Error())
			stuck.move = true
		}
		if ev.status != nil {
			defer s.prune(job.Project, ev.status.Ref, ev.dir)
		}
	case spool.Requeue:
		if err := s.spool.Requeue(name); err != nil {
			s.log.Error("cannot requeue a job; trying again every minute", "job", name, "error", err.Error())
			stuck.move = true
		}
	case spool.Retry:
		level = s.log.Warn
		if job.Commit == "" && ev.status != nil && ev.status.Commit != "" {
			// A retry is the same build again: of the commit the first attempt resolved,
			// which another job may build meanwhile (see scanner.builtBy).
			job.Commit = ev.status.JobCommit()
		}
		var more []any
		more, stuck.job, stuck.move = s.retry(name, job, reason)
		attrs = append(attrs, more...)
	}
	if ev.unsaved {
		stuck.dir, stuck.status = ev.dir, ev.status
		s.log.Error("cannot record the end of a dead build in its build.json; trying again every minute", "dir", ev.dir)
	}
	if stuck.move || stuck.status != nil {
		s.stuck[name] = stuck
	}
	s.changed()
	s.refreshPages()
	level("build finished", attrs...)
}

func orWhy(why, reason, stderr string) string {
	switch {
	case strings.HasPrefix(reason, why):
		return reason // it says the same, and more
	case reason != "":
		return why + ": " + reason
	case stderr != "":
		return why + ": " + lastLine(stderr)
	}
	return why
}

// retry counts one more attempt of a job an infrastructure error stopped: back into new/
// with the attempt recorded, or to bad/ with every attempt's reason after
// spool.MaxAttempts. It returns the attributes for the log line, the job with the attempt,
// and whether the job is still in cur/ (it could not be moved: try again later).
func (s *supervisor) retry(name string, job spool.Job, reason string) (attrs []any, withAttempt spool.Job, inCur bool) {
	if n := len(s.attempts[name]); n > len(job.Attempts) {
		job.Attempts = s.attempts[name] // recorded in memory only: the disk was full
	}
	job = job.WithAttempt(time.Now(), reason)
	attempt := len(job.Attempts)
	if attempt >= spool.MaxAttempts {
		delete(s.attempts, name)
		var b strings.Builder
		for i, a := range job.Attempts {
			b.WriteString("attempt " + itoa(i+1) + " at " + a.At.Format(time.RFC3339) + ": " + a.Reason + "\n")
		}
		dest, err := s.spool.Reject(spool.Cur, name, strings.TrimSuffix(b.String(), "\n"))
		switch {
		case err != nil && dest == "":
			s.log.Error("cannot move a job that keeps failing to bad/; it stays in cur/ until the next start", "job", name, "error", err.Error())
		case err != nil:
			s.log.Error("moved a job that keeps failing to bad/, without its reason file", "job", name, "error", err.Error(),
				"reasons", strings.TrimSuffix(b.String(), "\n"))
		}
		s.reportToForge(forge.SetAsideReport(s.config().Project(job.Project), job, attempt, reason, time.Now()))
		return []any{"attempt", attempt, "moved_to", dest}, job, false
	}
	s.reportToForge(forge.RetryReport(s.config().Project(job.Project), job, attempt, spool.MaxAttempts, reason, time.Now()))
	if err := s.spool.Retry(name, job); err != nil {
		s.attempts[name] = job.Attempts
		inCur = s.spool.Claimed(name)
		s.log.Error("cannot record the attempt in the job file; counting it in memory", "job", name, "error", err.Error(),
			"still_in_cur", inCur)
	} else {
		delete(s.attempts, name)
	}
	return []any{"attempt", attempt, "retry_in", time.Until(spool.RetryAt(job)).Round(time.Second).String()}, job, inCur
}

// stuckJob is the part of a job's outcome that could not be carried out when its build
// ended — the work directory was read-only or full: the move of the job out of cur/, and
// the build.json of a dead build. retryStuck tries again at every rescan.
type stuckJob struct {
	outcome spool.Outcome
	move    bool
	job     spool.Job // for Retry: with the attempt recorded
	dir     string
	status  *buildlog.Status // to write, when not nil
}

// retryStuck carries out what is left of the outcomes that could not be carried out.
func (s *supervisor) retryStuck() {
	for name, st := range s.stuck {
		if st.status != nil && st.status.Save(workdir.StatusPath(st.dir)) == nil {
			s.log.Info("recorded the end of a build that could not be recorded before", "dir", st.dir,
				"result", st.status.Result, "reason", st.status.Reason)
			st.status = nil
		}
		if st.move {
			var err error
			switch st.outcome {
			case spool.Done, spool.Withdrawn:
				err = s.spool.Remove(spool.Cur, name)
			case spool.Requeue:
				err = s.spool.Requeue(name)
			case spool.Retry:
				if err = s.spool.Retry(name, st.job); err == nil {
					delete(s.attempts, name)
				}
			}
			if err == nil || !s.spool.Claimed(name) {
				st.move = false
				s.changed()
				s.log.Info("a job left in cur/ is settled now", "job", name, "outcome", st.outcome.String())
			}
		}
		if st.move || st.status != nil {
			s.stuck[name] = st
		} else {
			delete(s.stuck, name)
		}
	}
}

// removeContainersLater removes, off the main loop, the containers of a build that died
// and could not remove them itself.
func (s *supervisor) removeContainersLater(dir string, st *buildlog.Status) {
	if st.Container == "" && st.Image == "" && !s.usesDocker(st.Project) {
		return
	}
	go s.removeContainersOf(context.Background(), dir, st)
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

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
