package watch

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/env"
	"pipelined/internal/git"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// Options configure the watcher.
type Options struct {
	Config      string        // configuration file
	Workdir     string        // work directory
	Interval    time.Duration // time between the starts of two passes
	Once        bool          // one pass, then return
	Concurrency int           // ls-remote processes at most at once; default 8
	// Timeout bounds one ls-remote when the project sets no timeout of its own; default 30 s.
	// A remote that hangs then costs one timeout, and only its own projects.
	Timeout time.Duration
	Logger  *slog.Logger
	Reload  <-chan struct{} // a receive re-reads the configuration (SIGHUP)
}

// Defaults.
const (
	DefaultConcurrency = 8
	DefaultTimeout     = 30 * time.Second
)

// Watcher holds what outlives one pass: the configuration and the last error per remote.
type Watcher struct {
	o      Options
	cfg    *config.Config
	layout workdir.Layout
	spool  *spool.Spool
	log    *slog.Logger

	mu      sync.Mutex
	lastErr map[string]string // remote → last error reported, "" once it recovered

	sshOptions []string // connection sharing for ssh remotes, across passes
}

// Run loads the configuration and watches until ctx ends (or after one pass with Once).
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
	w := &Watcher{o: o, cfg: cfg, layout: layout, spool: sp, log: o.Logger, lastErr: map[string]string{}}
	// ssh master connections outlive one pass by a minute, so that the next pass reuses
	// them (a pass every --interval); they close by themselves when the watcher stops.
	if dir := controlDir(layout); dir != "" {
		w.sshOptions = git.SharedSSH(dir, o.Interval+time.Minute)
	}
	for {
		started := time.Now()
		w.Pass(ctx)
		if o.Once || ctx.Err() != nil {
			return nil
		}
		// Between passes the watcher only waits: give the memory of the pass (outputs,
		// goroutine stacks) back to the system now rather than minutes later.
		debug.FreeOSMemory()
		wait := time.NewTimer(time.Until(started.Add(o.Interval)))
		select {
		case <-ctx.Done():
			wait.Stop()
			return nil
		case <-o.Reload:
			wait.Stop()
			w.reload()
		case <-wait.C:
		}
	}
}

// reload re-reads the configuration; an invalid file is reported and the old one kept.
func (w *Watcher) reload() {
	cfg, err := config.Load(w.o.Config)
	if err != nil {
		w.log.Error("configuration not reloaded, keeping the previous one", "error", err.Error())
		return
	}
	w.cfg = cfg
	w.log.Info("configuration reloaded", "projects", len(cfg.Projects))
}

// remote is one remote URL and the projects that watch it: it is asked once per pass.
type remote struct {
	url      string
	projects []*config.Project
}

// Pass asks every remote once and writes the jobs for new commits. It returns the number
// of jobs written.
func (w *Watcher) Pass(ctx context.Context) int {
	var remotes []*remote
	byURL := map[string]*remote{}
	for _, p := range w.cfg.Projects {
		if !p.Enabled || !p.Watch || (p.Branches == nil && p.Tags == nil) {
			continue
		}
		r := byURL[p.Remote]
		if r == nil {
			r = &remote{url: p.Remote}
			byURL[p.Remote] = r
			remotes = append(remotes, r)
		}
		r.projects = append(r.projects, p)
	}
	pending := w.pending()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		written int
		slots   = make(chan struct{}, w.o.Concurrency)
	)
	for _, r := range remotes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-slots }()
			n := w.poll(ctx, r, pending)
			mu.Lock()
			written += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	return written
}

// poll asks one remote and writes the jobs for its projects.
func (w *Watcher) poll(ctx context.Context, r *remote, pending map[string]bool) int {
	first := r.projects[0]
	timeout := w.o.Timeout
	if first.Timeout > 0 {
		timeout = first.Timeout
	}
	// The first project's environment is used to ask: it may carry a GIT_SSH_COMMAND with a
	// deploy key. Projects sharing a remote are expected to share its credentials.
	e, err := env.ForProject(os.Environ(), first.EnvFile, first.Env)
	if err != nil {
		w.report(r.url, err)
		return 0
	}
	refs, problems, err := git.LsRemote(ctx, r.url, git.SafeEnv(e.List(), w.sshOptions...), timeout)
	if ctx.Err() != nil {
		return 0
	}
	if err != nil {
		w.report(r.url, err)
		return 0
	}
	w.report(r.url, nil)
	for _, msg := range problems {
		w.log.Warn("ignoring a ref of the remote", "remote", r.url, "problem", msg)
	}
	written := 0
	for _, p := range r.projects {
		for _, ref := range refs {
			if !Wanted(p, ref.Name) {
				continue
			}
			job := spool.Job{Project: p.Name, Ref: ref.Name, Commit: ref.Commit, Source: spool.SourceWatch}
			if pending[job.Key()] || w.layout.Exists(p.Name, ref.Name, ref.Commit) {
				continue
			}
			name, err := w.spool.Write(job)
			if err != nil {
				w.log.Error("cannot write a job", "project", p.Name, "ref", ref.Name, "error", err.Error())
				continue
			}
			written++
			w.log.Info("enqueued", "project", p.Name, "ref", ref.Name, "commit", workdir.ShortCommit(ref.Commit), "job", name)
		}
	}
	return written
}

// Wanted reports whether the project builds the ref: its name must fully match the
// project's branches or tags regex.
func Wanted(p *config.Project, ref string) bool {
	switch {
	case git.IsBranch(ref):
		return p.Branches != nil && p.Branches.MatchString(git.ShortName(ref))
	case git.IsTag(ref):
		return p.Tags != nil && p.Tags.MatchString(git.ShortName(ref))
	}
	return false
}

// pending returns the keys of the jobs queued (new/) and running (cur/).
func (w *Watcher) pending() map[string]bool {
	keys := map[string]bool{}
	for _, sub := range []string{spool.New, spool.Cur} {
		entries, _ := w.spool.List(sub)
		for _, e := range entries {
			if j, err := w.spool.Read(sub, e.Name); err == nil {
				keys[j.Key()] = true
			}
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
		w.log.Info("remote answers again", "remote", url)
		w.lastErr[url] = ""
	case err != nil && err.Error() != last:
		w.log.Error("cannot list the remote", "remote", url, "error", err.Error())
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
