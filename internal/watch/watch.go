package watch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"syscall"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/env"
	"pipelined/internal/forge"
	"pipelined/internal/git"
	"pipelined/internal/polling"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// Options configure the watcher.
type Options struct {
	Config      string        // configuration file
	Workdir     string        // work directory
	Interval    time.Duration // time between the starts of two polls of a remote
	Once        bool          // poll every remote once, then return
	Concurrency int           // ls-remote processes at most at once; default 8
	// Timeout bounds one ls-remote; default 30 s. It is the watcher's own: a project's
	// timeout bounds the commands of its builds, and a remote that hangs would otherwise be
	// asked once an hour when that is 3600.
	Timeout time.Duration
	Logger  *slog.Logger
	Reload  <-chan struct{} // a receive re-reads the configuration (SIGHUP)
	// PollNow makes remotes due at once (SIGUSR1): those of the projects named in the
	// work directory's poll requests (`pipelined poll PROJECT`), or every one.
	PollNow <-chan struct{}
	// Projects, if set, restricts the watcher to these projects.
	Projects []string
	// Report, if set, collects what the polls decide (for Once: pipeline-watch --once
	// prints it).
	Report *Report
	// Done, if set, gets polling.Key(url) and a newline as each remote's poll ends: the
	// daemon's pass says so, so that the remotes it is done with are not held up by one it
	// is still asking.
	Done io.Writer
	// RememberErrors logs a remote's error once while it lasts (the watcher, and the
	// daemon's passes, through a record in the work directory); without it every error is
	// logged.
	RememberErrors bool
}

// Defaults.
const (
	DefaultConcurrency = polling.DefaultConcurrency
	DefaultTimeout     = polling.DefaultTimeout
)

// Watcher holds what outlives one poll: the configuration and the last error per remote.
type Watcher struct {
	o      Options
	cfg    *config.Config
	layout workdir.Layout
	spool  *spool.Spool
	log    *slog.Logger
	rep    *Report // nil unless Options.Report

	sshOptions []string  // connection sharing for ssh remotes, across polls
	https      httpsPass // lists http(s) remotes in-process (list.go)

	jobKeys map[string]string // "new/NAME" or "cur/NAME" → the job's key: see pending

	pullErrs pullErrors // the last error of each project's list of pull requests
}

// Run loads the configuration and watches until ctx ends (or, with Once, until every
// remote was asked once).
func Run(ctx context.Context, o Options) error {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	cfg, err := config.Load(o.Config)
	if err != nil {
		return err
	}
	layout, err := workdir.New(o.Workdir)
	if err != nil {
		return err
	}
	sp, err := spool.Open(layout.SpoolDir())
	if err != nil {
		return err
	}
	w := &Watcher{o: o, cfg: cfg, layout: layout, spool: sp, log: o.Logger, rep: o.Report, jobKeys: map[string]string{}}
	w.rep.begin(cfg, o.Projects)
	// ssh master connections outlive one poll by a minute, so that the next poll of the
	// host reuses them; they close by themselves when the watcher stops.
	if dir := controlDir(layout); dir != "" {
		w.sshOptions = git.SharedSSH(dir, o.Interval+time.Minute)
	}
	w.loop(ctx)
	w.https.end()
	return nil
}

// loop starts the polls the schedule says are due, at most Concurrency at once, and
// sleeps until the next is due, a poll ends, or a reload. It alone touches the schedule.
func (w *Watcher) loop(ctx context.Context) {
	every, reload := w.o.Interval, w.o.Reload
	if w.o.Once {
		every, reload = 0, nil
	}
	sched := polling.NewSchedule(every)
	remotes, urls := w.remotes()
	sched.Set(urls, time.Now())
	// Buffered for every poll that can be in flight: a poll never waits to report its end.
	finished := make(chan string, w.o.Concurrency)
	running := 0
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	var freed time.Time
	var pending pendingJobs
	for {
		now := time.Now()
		if due := sched.Take(now, w.o.Concurrency-running); len(due) > 0 {
			if !pending.serves(due, sched, now) {
				pending = pendingJobs{keys: w.pending(), at: now}
			}
			running += w.start(ctx, due, remotes, pending.keys, finished)
		}
		if w.o.Once && running == 0 {
			return
		}
		timer := w.timerFor(wake, sched, running)
		select {
		case <-ctx.Done():
			for ; running > 0; running-- { // each is being stopped
				<-finished
			}
			return
		case <-reload:
			if w.reload() {
				remotes, urls = w.remotes()
				sched.Set(urls, time.Now())
			}
		case <-w.o.PollNow:
			sched.DueNow(w.requested(remotes, urls), time.Now())
		case url := <-finished:
			sched.Done(url, time.Now())
			running--
			if w.o.Done != nil {
				_, _ = io.WriteString(w.o.Done, polling.Key(url)+"\n")
			}
			if running == 0 && !w.o.Once && time.Since(freed) >= w.o.Interval {
				// Nothing in flight: give the memory of the polls (outputs, goroutine
				// stacks) back to the system now rather than minutes later, at most once
				// an interval.
				debug.FreeOSMemory()
				freed = time.Now()
			}
		case <-timer:
		}
	}
}

// start polls each of due on a goroutine of its own, which reports its end on finished.
func (w *Watcher) start(ctx context.Context, due []string, remotes map[string]*remote, pending map[string]string, finished chan<- string) int {
	// Read here, on the loop that reloads the configuration: no forge token reaches git.
	environ := forge.WithoutTokens(os.Environ(), w.cfg)
	for _, url := range due {
		r := remotes[url]
		go func() {
			w.poll(ctx, r, pending, environ)
			finished <- url
		}()
	}
	return len(due)
}

// pendingJobs is a snapshot of the jobs queued and running, taken at a time.
type pendingJobs struct {
	keys map[string]string // job key → where it is (see pending)
	at   time.Time
}

// maxPendingAge is how long a snapshot of the pending jobs may serve: with a long queue,
// reading every job file for each poll would cost more than the poll. A job written by
// someone else meanwhile may then be written again by the watcher, as it may anyway while
// a poll runs; the supervisor drops a job that duplicates one queued or running.
const maxPendingAge = time.Second

// serves reports whether the snapshot may serve the polls of due starting at now: it is
// young, and was taken after the previous poll of each of them ended, so that it holds the
// jobs those polls wrote (a remote never sees a stale view of its own jobs).
func (p pendingJobs) serves(due []string, sched *polling.Schedule, now time.Time) bool {
	return p.keys != nil && now.Sub(p.at) < maxPendingAge && !sched.EndedSince(due, p.at)
}

// timerFor sets the timer to the next due time, and returns its channel; nil (never
// ready) when nothing is due or no poll could start then: the watcher sleeps without
// waking up in vain.
func (w *Watcher) timerFor(t *time.Timer, sched *polling.Schedule, running int) <-chan time.Time {
	next, ok := sched.Next()
	if !ok || running >= w.o.Concurrency {
		t.Stop()
		return nil
	}
	t.Reset(time.Until(next))
	return t.C
}

// reload re-reads the configuration; an invalid file is reported and the old one kept.
func (w *Watcher) reload() bool {
	cfg, err := config.Load(w.o.Config)
	if err != nil {
		w.log.Error("configuration not reloaded, keeping the previous one", "error", err.Error())
		return false
	}
	w.cfg = cfg
	w.https.end() // git's configuration is read again too
	w.log.Info("configuration reloaded", "projects", len(cfg.Projects))
	return true
}

// poll asks one remote and writes the jobs for its projects. Each decision also goes to the
// report, if there is one.
func (w *Watcher) poll(ctx context.Context, r *remote, pending map[string]string, environ []string) {
	first := r.projects[0]
	// The first project's environment is used to ask: it may carry a GIT_SSH_COMMAND with a
	// deploy key. Projects sharing a remote are expected to share its credentials.
	e, err := env.ForProject(environ, first.EnvFile, first.Env)
	if err != nil {
		w.report(r.url, err)
		w.rep.failed(r, err)
		return
	}
	refs, problems, err := w.list(ctx, r.url, git.SafeEnv(e.List(), w.sshOptions...))
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		w.report(r.url, err)
		w.rep.failed(r, err)
		return
	}
	w.report(r.url, nil)
	w.rep.listed(r, len(refs), problems)
	for _, msg := range problems {
		w.log.Warn("ignoring a ref of the remote", "remote", git.MaskURL(r.url), "problem", git.MaskURLsIn(msg, r.url))
	}
	for _, p := range r.projects {
		prs, listed := w.pullRequestRefs(ctx, p)
		w.pollProject(p, slices.Concat(refs, prs), pending, listed)
	}
}

// pending returns the keys of the jobs queued (new/) and running (cur/), each with where it
// is: "queued as job NAME" or "running as job NAME".
//
// A job file's project, ref and commit never change, so each file is read once: with a long
// queue (the watcher's own first pass writes one job per remote), reading every file for each
// batch of polls cost more than the polls.
func (w *Watcher) pending() map[string]string {
	keys := map[string]string{}
	seen := map[string]bool{}
	for _, sub := range []string{spool.New, spool.Cur} {
		state := "queued"
		if sub == spool.Cur {
			state = "running" // claimed by the daemon
		}
		entries, _ := w.spool.List(sub)
		for _, e := range entries {
			path := sub + "/" + e.Name
			seen[path] = true
			key, ok := w.jobKeys[path]
			if !ok {
				j, err := w.spool.Read(sub, e.Name)
				if err != nil {
					continue
				}
				key = j.Key()
				w.jobKeys[path] = key
			}
			keys[key] = state + " as job " + e.Name
		}
	}
	for path := range w.jobKeys {
		if !seen[path] {
			delete(w.jobKeys, path)
		}
	}
	return keys
}

// report logs a remote's error when it differs from the last one (numbers aside: git's
// "after 3001 ms"), and its recovery with the count of polls that failed: a remote that
// fails every interval is logged once, not every interval, across passes too.
func (w *Watcher) report(url string, err error) {
	if !w.o.RememberErrors {
		if err != nil {
			w.log.Error("cannot list the remote", "remote", git.MaskURL(url), "error", git.MaskURLsIn(err.Error(), url))
		}
		return
	}
	msg := ""
	if err != nil {
		// git's errors come masked; this also covers any other error that quotes the URL.
		msg = git.MaskURLsIn(err.Error(), url)
	}
	st := loadRemoteState(w.layout, url)
	next, news := nextRemoteState(st, msg, time.Now().UTC())
	switch news {
	case remoteAnswers:
		return
	case remoteAnswersAgain:
		w.log.Info("remote answers again", "remote", git.MaskURL(url), "failed_polls", st.Failed,
			"failing_since", st.Since.Format(time.RFC3339))
	case remoteFails:
		attrs := []any{"remote", git.MaskURL(url), "error", msg}
		if st.Error != "" {
			attrs = append(attrs, "after_failed_polls", st.Failed)
		}
		w.log.Error("cannot list the remote", attrs...)
	}
	saveRemoteState(w.layout, url, next)
}

// controlDir is where ssh keeps its shared-connection sockets: the state directory, or,
// when that path is too long for a socket, a private directory in /tmp. "" if neither is
// usable: then every poll opens a connection of its own.
func controlDir(layout workdir.Layout) string {
	dir := filepath.Join(layout.StateDir(), "ssh")
	if git.SharedSSH(dir, time.Minute) == nil {
		dir = filepath.Join(os.TempDir(), fmt.Sprintf("pipelined-ssh-%d", os.Getuid()))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return ""
	}
	// Only a directory of our own, closed to others, may hold the sockets.
	info, err := os.Lstat(dir)
	st, ok := info.Sys().(*syscall.Stat_t)
	if err != nil || !info.IsDir() || !ok || int(st.Uid) != os.Getuid() || info.Mode().Perm()&0o077 != 0 {
		return ""
	}
	return dir
}
