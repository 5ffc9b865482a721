package watch

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/env"
	"pipelined/internal/forge"
	"pipelined/internal/git"
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
}

// Defaults.
const (
	DefaultConcurrency = 8
	DefaultTimeout     = 30 * time.Second
)

// Watcher holds what outlives one poll: the configuration and the last error per remote.
type Watcher struct {
	o      Options
	cfg    *config.Config
	layout workdir.Layout
	spool  *spool.Spool
	log    *slog.Logger
	rep    *Report // nil unless Options.Report

	mu      sync.Mutex
	lastErr map[string]string // remote → last error reported, "" once it recovered

	sshOptions []string // connection sharing for ssh remotes, across polls

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
	w := &Watcher{o: o, cfg: cfg, layout: layout, spool: sp, log: o.Logger, rep: o.Report, lastErr: map[string]string{}, jobKeys: map[string]string{}}
	w.rep.begin(cfg, o.Projects)
	// ssh master connections outlive one poll by a minute, so that the next poll of the
	// host reuses them; they close by themselves when the watcher stops.
	if dir := controlDir(layout); dir != "" {
		w.sshOptions = git.SharedSSH(dir, o.Interval+time.Minute)
	}
	w.loop(ctx)
	return nil
}

// loop starts the polls the schedule says are due, at most Concurrency at once, and
// sleeps until the next is due, a poll ends, or a reload. It alone touches the schedule.
func (w *Watcher) loop(ctx context.Context) {
	every, reload := w.o.Interval, w.o.Reload
	if w.o.Once {
		every, reload = 0, nil
	}
	sched := newSchedule(every)
	remotes, urls := w.remotes()
	sched.set(urls, time.Now())
	// Buffered for every poll that can be in flight: a poll never waits to report its end.
	finished := make(chan string, w.o.Concurrency)
	running := 0
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	var freed time.Time
	var pending pendingJobs
	for {
		now := time.Now()
		if due := sched.take(now, w.o.Concurrency-running); len(due) > 0 {
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
				sched.set(urls, time.Now())
			}
		case <-w.o.PollNow:
			sched.dueNow(w.requested(remotes, urls), time.Now())
		case url := <-finished:
			sched.done(url, time.Now())
			running--
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
func (p pendingJobs) serves(due []string, sched *schedule, now time.Time) bool {
	return p.keys != nil && now.Sub(p.at) < maxPendingAge && !sched.endedSince(due, p.at)
}

// timerFor sets the timer to the next due time, and returns its channel; nil (never
// ready) when nothing is due or no poll could start then: the watcher sleeps without
// waking up in vain.
func (w *Watcher) timerFor(t *time.Timer, sched *schedule, running int) <-chan time.Time {
	next, ok := sched.next()
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
	w.log.Info("configuration reloaded", "projects", len(cfg.Projects))
	return true
}

// requested returns the remotes a poll request asks for: those of the projects named by the
// files in the work directory's poll directory (which it removes), or, without any, every
// remote.
func (w *Watcher) requested(remotes map[string]*remote, urls []string) []string {
	named := TakePollRequests(w.layout)
	var due []string
	for _, url := range urls {
		for _, p := range remotes[url].projects {
			if named[p.Name] {
				due = append(due, url)
				w.log.Info("polling now", "project", p.Name, "remote", git.MaskURL(url))
				break
			}
		}
	}
	if len(due) == 0 {
		// No request, or only for projects that are gone: a poll was asked for all the same.
		w.log.Info("polling every remote now", "remotes", len(urls))
		return urls
	}
	return due
}

// TakePollRequests reads and removes the poll requests of the work directory: the
// projects `pipelined poll PROJECT` named. Whatever else is there (a directory, a name that
// is no project name) is removed too.
func TakePollRequests(layout workdir.Layout) map[string]bool {
	dir := layout.PollRequests()
	entries, _ := os.ReadDir(dir)
	named := map[string]bool{}
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
		if e.Type().IsRegular() && config.ValidProjectName(e.Name()) {
			named[e.Name()] = true
		}
	}
	return named
}

// remote is one remote URL and the projects that watch it: one ls-remote serves them all.
type remote struct {
	url      string
	projects []*config.Project
}

// remotes groups the enabled, watched projects by remote URL; urls lists the remotes in
// the order of the configuration.
func (w *Watcher) remotes() (byURL map[string]*remote, urls []string) {
	byURL = map[string]*remote{}
	for _, p := range w.cfg.Projects {
		if notPolled(p) != "" {
			continue
		}
		if len(w.o.Projects) > 0 && !slices.Contains(w.o.Projects, p.Name) {
			continue
		}
		r := byURL[p.Remote]
		if r == nil {
			r = &remote{url: p.Remote}
			byURL[p.Remote] = r
			urls = append(urls, p.Remote)
		}
		r.projects = append(r.projects, p)
	}
	return byURL, urls
}

// notPolled says why the watcher does not poll a project's remote, or "" when it does.
func notPolled(p *config.Project) string {
	switch {
	case !p.Enabled:
		return "enabled = False"
	case !p.Watch:
		return "watch = False"
	case p.Branches == nil && p.Tags == nil && !p.PullRequests:
		return "neither branches nor tags is set"
	}
	return ""
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
	refs, problems, err := git.LsRemote(ctx, r.url, git.SafeEnv(e.List(), w.sshOptions...), w.o.Timeout)
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
		for _, ref := range slices.Concat(refs, w.pullRequestRefs(ctx, p)) {
			if !Wanted(p, ref.Name) {
				continue
			}
			job := spool.Job{Project: p.Name, Ref: ref.Name, Commit: ref.Commit, Source: spool.SourceWatch}
			if where := pending[job.Key()]; where != "" {
				w.rep.decide(p, ref, actionSkipped, "already "+where)
				continue
			}
			if dir := w.layout.Existing(p.Name, ref.Name, ref.Commit); dir != "" {
				detail := "already built in " + dir
				if strings.HasSuffix(dir, workdir.TmpSuffix) {
					detail += " (not successful, or still running)"
				}
				w.rep.decide(p, ref, actionSkipped, detail)
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
	}
}

// Wanted reports whether the project builds the ref: its name must fully match the
// project's branches or tags regex, or, for a pull request's head, pull_requests be True.
func Wanted(p *config.Project, ref string) bool {
	switch {
	case git.IsBranch(ref):
		return p.Branches != nil && p.Branches.MatchString(git.ShortName(ref))
	case git.IsTag(ref):
		return p.Tags != nil && p.Tags.MatchString(git.ShortName(ref))
	case git.IsPullRequest(ref):
		return p.PullRequests
	}
	return false
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

// report logs a remote's error when it differs from the last one, and its recovery: a
// remote that fails every interval is logged once, not every interval.
func (w *Watcher) report(url string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	last, seen := w.lastErr[url]
	switch {
	case err == nil && seen && last != "":
		w.log.Info("remote answers again", "remote", git.MaskURL(url))
		w.lastErr[url] = ""
	case err != nil && err.Error() != last:
		// git's errors come masked; this also covers any other error that quotes the URL.
		w.log.Error("cannot list the remote", "remote", git.MaskURL(url), "error", git.MaskURLsIn(err.Error(), url))
		w.lastErr[url] = err.Error()
	case err == nil:
		w.lastErr[url] = ""
	}
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
