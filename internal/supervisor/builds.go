package supervisor

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"pipelined/internal/buildlog"
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
	pid     int               // process id (process group) when known
	output  *tail             // the end of its output, for the log if it crashes
}

// retryDispatch asks the main loop to dispatch again after a pause.
type retryDispatch struct{}

// buildDone reports that a build's process has ended.
type buildDone struct {
	name string
	res  procexec.Result
	err  error
}

// dispatch starts queued jobs, first in first out, while there are free slots. A file
// that is not a valid job, or names a project that is unknown or disabled, is moved to
// bad/ with the reason; a job for a commit that is already queued ahead of it or running
// is dropped (SPEC §5).
func (s *supervisor) dispatch() {
	if s.state != serving || len(s.builds) >= s.o.Limit || time.Now().Before(s.pausedUntil) {
		return
	}
	entries, err := s.spool.List(spool.New)
	if err != nil {
		s.log.Error("cannot list the spool", "error", err.Error())
		return
	}
	taken := map[string]bool{} // keys running or already ahead in this listing
	for _, b := range s.builds {
		if b.job.Commit != "" {
			taken[b.job.Key()] = true
		}
	}
	for _, e := range entries {
		if len(s.builds) >= s.o.Limit {
			break
		}
		job, err := s.spool.Read(spool.New, e.Name)
		var rej *spool.RejectError
		switch {
		case errors.As(err, &rej):
			s.reject(e.Name, rej.Reason)
			continue
		case err != nil:
			continue // claimed by someone else since the listing
		}
		if reason := s.refuse(job); reason != "" {
			s.reject(e.Name, reason)
			continue
		}
		if reason := s.duplicate(job, taken); reason != "" {
			s.log.Info("dropped a duplicate job", "job", e.Name, "project", job.Project, "ref", job.Ref,
				"commit", workdir.ShortCommit(job.Commit), "reason", reason)
			s.spool.Remove(spool.New, e.Name)
			continue
		}
		taken[job.Key()] = true
		if err := s.spool.Claim(e.Name); err != nil {
			continue // spool.ErrClaimed: another claimer won
		}
		s.start(e.Name, job)
	}
	if notifying() {
		notify(s.status())
	}
}

// refuse returns why the configuration does not allow a job, or "".
func (s *supervisor) refuse(job spool.Job) string {
	p := s.cfg.Project(job.Project)
	switch {
	case p == nil:
		return "project " + strconv.Quote(job.Project) + " is not in the configuration"
	case !p.Enabled:
		return "project " + strconv.Quote(job.Project) + " is disabled"
	}
	return ""
}

// duplicate returns why a job need not run, or "": its commit is running or queued ahead
// of it, or the watcher found a commit that was built in the meantime.
func (s *supervisor) duplicate(job spool.Job, taken map[string]bool) string {
	switch {
	case taken[job.Key()]:
		return "the same project, ref and commit is running or queued ahead"
	case job.Source == spool.SourceWatch && job.Commit != "" && s.layout.Exists(job.Project, job.Ref, job.Commit):
		return "already built"
	}
	return ""
}

func (s *supervisor) reject(name, reason string) {
	if err := s.spool.Reject(spool.New, name, reason); err != nil {
		s.log.Error("cannot move a bad job file aside", "job", name, "error", err.Error())
		return
	}
	s.log.Warn("rejected a job file", "job", name, "reason", reason, "moved_to", s.spool.Path(spool.Bad, name))
}

// start runs pipeline-build for a claimed job. The build is detached: should the daemon
// die, the build goes on, and the next daemon adopts it.
func (s *supervisor) start(name string, job spool.Job) {
	out := &tail{max: 4096}
	p, err := procexec.Start(s.buildsCtx, procexec.Cmd{
		Argv: []string{s.o.Build, "--config", s.layout.ConfigSnapshot(), "--workdir", s.layout.Root,
			"--grace", s.o.Grace.String(), "--job", s.spool.Path(spool.Cur, name)},
		Env:    os.Environ(),
		Output: out,
		Grace:  buildKillAfter(s.o.Grace),
		Detach: true,
	})
	if err != nil {
		// Requeuing fires the spool watch again: without a pause this would spin until
		// the binary is back (it went missing during an upgrade, say).
		s.pausedUntil = time.Now().Add(startRetry)
		s.log.Error("cannot start pipeline-build; the job goes back into the queue", "job", name,
			"error", err.Error(), "retry_in", startRetry.String())
		s.spool.Requeue(name)
		time.AfterFunc(startRetry, func() { s.send(retryDispatch{}) })
		return
	}
	s.builds[name] = &build{name: name, job: job, started: time.Now(), proc: p, pid: p.Pid, output: out}
	s.log.Info("dispatched build", "project", job.Project, "ref", job.Ref, "commit", workdir.ShortCommit(job.Commit),
		"job", name, "pid", p.Pid)
	go func() {
		res, err := p.Wait()
		s.send(buildDone{name: name, res: res, err: err})
	}()
}

// finish records a build that ended. A build that ended without finishing its job (it
// crashed, or was killed) has its job marked failed and removed, so that it cannot crash
// the daemon's queue over and over; while stopping, its job stays for the next start.
func (s *supervisor) finish(ev buildDone) {
	b := s.builds[ev.name]
	if b == nil {
		return
	}
	delete(s.builds, ev.name)
	dir, st := s.findBuild(b)
	result := "unknown"
	if st != nil {
		result = st.Result
	}
	if _, err := os.Stat(s.spool.Path(spool.Cur, ev.name)); err == nil {
		if s.state == stopping {
			// Killed after the grace period: its record says so, and its job is run again
			// at the next start.
			if st != nil && st.Result == buildlog.Running {
				st.Result, st.Reason, st.Finished = buildlog.Canceled, "killed after the grace period while pipelined stopped", time.Now().UTC()
				st.Save(workdir.StatusPath(dir))
			}
			s.log.Warn("build killed before it finished; its job is run again at the next start",
				"project", b.job.Project, "ref", b.job.Ref, "job", ev.name)
			return
		}
		reason := "pipeline-build ended without finishing the job: " + describe(ev.res)
		if st != nil && st.Result == buildlog.Running {
			st.Result, st.Reason, st.Finished = buildlog.Failed, reason, time.Now().UTC()
			st.Save(workdir.StatusPath(dir))
		}
		result = buildlog.Failed
		s.spool.Remove(spool.Cur, ev.name)
		if st != nil {
			s.removeContainersOf(dir, st)
		}
		s.log.Error("build process crashed", "project", b.job.Project, "ref", b.job.Ref,
			"commit", workdir.ShortCommit(b.job.Commit), "job", ev.name, "reason", reason, "output", b.output.String())
	}
	attrs := []any{"project", b.job.Project, "ref", b.job.Ref, "commit", workdir.ShortCommit(b.job.Commit),
		"result", result, "took", time.Since(b.started).Round(time.Millisecond).String(), "job", ev.name}
	if dir != "" {
		attrs = append(attrs, "dir", dir)
	}
	if st != nil && st.Reason != "" {
		attrs = append(attrs, "reason", st.Reason)
	}
	s.log.Info("build finished", attrs...)
}

// findBuild finds the build directory and status of a job by its name in build.json.
func (s *supervisor) findBuild(b *build) (string, *buildlog.Status) {
	dirs, _ := filepath.Glob(filepath.Join(s.layout.RefDir(b.job.Project, b.job.Ref), "*"))
	for _, dir := range dirs {
		if st, err := buildlog.LoadStatus(workdir.StatusPath(dir)); err == nil && st.Job == b.name {
			return dir, st
		}
	}
	return "", nil
}

// adopt takes over a build a previous daemon started, which still runs: it counts
// against the limit, and its end is noticed when its lock on the job file goes.
func (s *supervisor) adopt(name string) {
	job, err := s.spool.Read(spool.Cur, name)
	if err != nil {
		return
	}
	b := &build{name: name, job: job, started: time.Now(), output: &tail{}}
	if _, st := s.findBuild(b); st != nil {
		b.pid = st.PID
	}
	s.builds[name] = b
	s.log.Info("adopted a running build", "project", job.Project, "ref", job.Ref, "job", name, "pid", b.pid)
	path := s.spool.Path(spool.Cur, name)
	go func() {
		waitForLock(path)
		s.send(buildDone{name: name, res: procexec.Result{ExitCode: -1}})
	}()
}

// cancelAdopted signals the adopted builds as procexec does the daemon's own: SIGTERM to
// the process group, SIGKILL after the grace period.
func (s *supervisor) cancelAdopted() {
	for _, b := range s.builds {
		if b.proc == nil && b.pid > 0 {
			procexec.KillGroup(b.pid, syscall.SIGTERM)
			pid := b.pid
			time.AfterFunc(s.o.Grace, func() { procexec.KillGroup(pid, syscall.SIGKILL) })
		}
	}
}

// waitForLock returns when no process holds the lock on path (or path is gone).
func waitForLock(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
}

func describe(res procexec.Result) string {
	switch {
	case res.Signal != 0:
		return "killed by " + res.Signal.String()
	case res.ExitCode >= 0:
		return "exit status " + strconv.Itoa(res.ExitCode)
	default:
		return "its process is gone"
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

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
