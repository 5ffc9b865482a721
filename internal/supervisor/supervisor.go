package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/engine"
	"pipelined/internal/env"
	"pipelined/internal/procexec"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// The daemon's states: it runs, drains (SIGINT: no new builds, wait for the running
// ones) or stops (SIGTERM, SIGQUIT, a second SIGINT: cancel the running builds).
type state int

const (
	serving state = iota
	draining
	stopping
)

// The main loop owns every field without a comment saying otherwise. It never waits on a
// file, a Docker command or a configuration load (SPEC §8): the spool is read by the
// scanner, build records by each build's waiting goroutine, the configuration by the
// reloader, and Docker is asked by the recovery goroutine; each reports back as an event.
type supervisor struct {
	o      Options
	log    *slog.Logger
	cfg    atomic.Pointer[config.Config] // read by the goroutines too
	layout workdir.Layout
	spool  *spool.Spool
	state  state

	builds       map[string]*build // job file name → running build
	buildsCtx    context.Context   // canceled to cancel every build
	cancelBuilds context.CancelFunc
	events       chan any        // from the goroutines: scans, ended builds, reloads, …
	bgCtx        context.Context // the goroutines' context: canceled when Run returns
	done         chan struct{}
	stopping     atomic.Bool // set once stopping; read by the waiting goroutines

	// groups mirrors the builds' process groups for the shutdown watchdog.
	groupsMu sync.Mutex
	groups   map[string]procexec.Group

	queue      []queued // spool/new/ as the last scan saw it, less what dispatch took
	scans      chan int // scan requests: the modification count they answer to
	modified   int      // spool changes the main loop made itself
	recovering bool     // the claimed jobs are not known yet: no dispatching
	attempts   map[string][]spool.Attempt
	stuck      map[string]stuckJob // outcomes to finish carrying out (see retryStuck)
	retryTimer *time.Timer         // the next job whose back-off ends

	// The Docker engines: the pool (the main loop's), its fixed list (read by recovery), and
	// the state published for status.
	pool          *engine.Pool
	engines       []engine.Engine
	probed        bool
	engineBackoff map[string]time.Duration
	engineStates  atomic.Pointer[[]engine.State]
	warnedEngines map[string]bool // projects pinned to unknown engines, warned about
	engineCheck   *time.Timer     // the next check of the engines builds run on

	prunes chan pruneRequest // to the pruner goroutine
	pages  chan struct{}     // to the page writer goroutine

	reloading   bool
	reloadAgain string // why another reload is due once this one ends

	watcher        *procexec.Process
	stopWatcher    context.CancelFunc
	watcherStarted time.Time
	watcherBackoff time.Duration
	restartWatcher *time.Timer

	claimErr    string      // the last error of a claim, logged once
	pollPending bool        // a poll request waits to be passed on
	polling     bool        // a pass of pipeline-watch --once runs (no watcher)
	deadline    *time.Timer // set once stopping: the daemon exits then, whatever remains
	pausedUntil time.Time   // no dispatching before, after pipeline-build failed to start
}

// Run runs the daemon until a signal ends it. It returns nil after a completed drain or
// shutdown, a *config.Error (joined) if the configuration is invalid at start, a
// *spool.DaemonRunningError if another daemon holds the work directory, or another error if
// it cannot start.
func Run(ctx context.Context, o Options) error {
	// Every handler is in place before any work starts: until then, SIGHUP, SIGINT and
	// SIGTERM would kill the process and SIGQUIT would dump goroutines.
	caught := make(chan os.Signal, 8)
	signal.Notify(caught, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGUSR1)
	defer signal.Stop(caught)

	if o.Limit < 1 {
		o.Limit = 1
	}
	if o.Grace <= 0 {
		o.Grace = procexec.DefaultGrace
	}
	if len(o.Engines) == 0 {
		o.Engines = []engine.Engine{{Name: engine.Local, Slots: o.Limit}}
	}
	s := &supervisor{o: o, log: o.Logger, builds: map[string]*build{}, events: make(chan any), done: make(chan struct{}),
		groups: map[string]procexec.Group{}, scans: make(chan int, 1), attempts: map[string][]spool.Attempt{}, stuck: map[string]stuckJob{}, recovering: true,
		prunes: make(chan pruneRequest, 64), pages: make(chan struct{}, 1),
		pool: engine.NewPool(o.Engines, time.Now()), engines: o.Engines, engineBackoff: map[string]time.Duration{},
		warnedEngines: map[string]bool{}}
	defer close(s.done)
	sigs := s.watchSignals(caught)
	s.buildsCtx, s.cancelBuilds = context.WithCancel(context.WithoutCancel(ctx))
	defer s.cancelBuilds()

	cfg, err := config.Load(o.Config)
	if err != nil {
		return err
	}
	s.warn(cfg)
	if s.layout, err = workdir.New(o.Workdir); err != nil {
		return err
	}
	if err := os.MkdirAll(s.layout.StateDir(), 0o777); err != nil {
		return fmt.Errorf("creating the work directory: %w", err)
	}
	lock, err := spool.LockDaemon(s.layout.DaemonLock())
	if err != nil {
		return err
	}
	defer lock.Close()
	if s.spool, err = spool.Open(s.layout.SpoolDir()); err != nil {
		return err
	}
	if err := s.writeSnapshot(cfg); err != nil {
		return fmt.Errorf("writing the configuration snapshot: %w", err)
	}
	s.cfg.Store(cfg)
	notifier, err := s.spool.Notify()
	if err != nil {
		return err
	}
	bgCtx, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()
	s.bgCtx = bgCtx
	go notifier.Run(bgCtx, func(err error) { s.log.Warn("spool watch error, rescanning", "error", err.Error()) })
	configChanged, err := watchConfigFile(bgCtx, o.Config)
	if err != nil {
		s.log.Warn("not watching the configuration file for changes; SIGHUP still reloads it", "error", err.Error())
	}
	go newScanner(s.spool, s.layout, s.log).run(s.scans, s.send)
	defer close(s.scans)
	stopSender := s.startSender()
	defer stopSender()
	go s.recover()
	go s.pruner(bgCtx)
	go s.pageWriter(bgCtx)
	defer close(s.prunes)
	s.scan()
	s.startWatcher()
	s.log.Info("started", "workdir", s.layout.Root, "projects", len(cfg.Projects), "limit", o.Limit,
		"interval", o.Interval.String(), "version", o.Version)
	notify("READY=1", s.status())

	rescan := time.NewTicker(rescanEvery)
	defer rescan.Stop()
	var reloadTimer *time.Timer
	for !s.finished() {
		select {
		case sig := <-sigs:
			s.onSignal(sig.(syscall.Signal))
		case <-notifier.C:
			s.scan()
		case <-rescan.C:
			s.retryStuck()
			s.scan()
		case <-configChanged:
			if reloadTimer == nil {
				reloadTimer = time.NewTimer(reloadDebounce)
			} else {
				reloadTimer.Reset(reloadDebounce)
			}
		case <-timerC(reloadTimer):
			s.reload("the configuration file changed")
		case <-timerC(s.retryTimer):
			s.retryTimer = nil
			s.dispatch()
		case ev := <-s.events:
			s.onEvent(ev)
		case <-timerC(s.engineCheck):
			s.checkEngines()
		case <-timerC(s.restartWatcher):
			s.restartWatcher = nil
			s.startWatcher()
		case <-timerC(s.deadline):
			s.log.Error("exit deadline reached, leaving builds behind", "running", len(s.builds))
			s.killLeftovers()
			return nil
		}
	}
	s.log.Info("stopped")
	return nil
}

// finished reports whether a drain or shutdown is complete.
func (s *supervisor) finished() bool {
	return s.state != serving && len(s.builds) == 0 && s.watcher == nil
}

// onSignal is the signal state machine of SPEC §8.
func (s *supervisor) onSignal(sig syscall.Signal) {
	switch {
	case sig == syscall.SIGHUP:
		s.reload("SIGHUP")
	case sig == syscall.SIGUSR1:
		s.pollNow()
	case sig == syscall.SIGINT && s.state == serving:
		s.state = draining
		s.log.Info("draining: no new builds; waiting for the running ones (SIGINT again cancels them)", "running", len(s.builds))
		notify("STOPPING=1", s.status())
		s.stopTheWatcher()
	case s.state != stopping: // SIGTERM, SIGQUIT, or a second SIGINT
		s.state = stopping
		s.stopping.Store(true)
		s.log.Info("stopping: canceling the running builds", "signal", sig.String(), "running", len(s.builds),
			"deadline", exitDeadline(s.o.Grace).String())
		notify("STOPPING=1", s.status())
		s.deadline = time.NewTimer(exitDeadline(s.o.Grace))
		s.stopTheWatcher()
		s.markStopped()
		s.cancelBuilds()
		s.cancelAdopted()
	}
}

// onEvent handles what the goroutines report.
func (s *supervisor) onEvent(ev any) {
	switch ev := ev.(type) {
	case scanResult:
		s.onScan(ev)
	case ended:
		s.finish(ev)
		s.dispatch()
		if len(s.builds) == 0 {
			// Idle again: hand back what the builds' bookkeeping took.
			debug.FreeOSMemory()
		}
	case recovered:
		s.onRecovered(ev)
		s.dispatch()
	case engineProbed:
		s.onEngineProbed(ev)
	case engineChecked:
		s.onEngineChecked(ev)
	case reloaded:
		s.onReloaded(ev)
	case watcherDone:
		s.watcherExited(ev)
	case retryDispatch:
		s.dispatch()
	case rescanNow:
		s.scan()
	case pollAgain:
		if s.pollPending {
			s.pollPending = false
			s.pollNow()
		}
	case polled:
		s.polling = false
		if s.pollPending {
			s.pollOnce()
		}
	}
}

// rescanNow asks the main loop for a scan of the spool.
type rescanNow struct{}

// send hands an event to the main loop, unless the daemon has returned.
func (s *supervisor) send(ev any) {
	select {
	case s.events <- ev:
	case <-s.done:
	}
}

// scan asks the scanner for a fresh view of spool/new/; requests made while one is
// pending are one request.
func (s *supervisor) scan() {
	select {
	case s.scans <- s.modified:
	default:
	}
}

// changed notes that the main loop changed the spool itself: a scan that started before
// is stale, and a new one is due.
func (s *supervisor) changed() {
	s.modified++
	s.scan()
}

func (s *supervisor) onScan(r scanResult) {
	if r.err != nil {
		s.log.Error("cannot list the spool", "error", r.err.Error())
		return
	}
	if r.seq != s.modified {
		s.scan() // the spool changed while it was read
		return
	}
	if r.young {
		time.AfterFunc(youngFile, func() { s.send(rescanNow{}) })
	}
	s.queue = r.queue
	for i, q := range s.queue {
		// Attempts the disk was too full to record in the file count all the same.
		if mem := s.attempts[q.name]; len(mem) > len(q.job.Attempts) {
			s.queue[i].job.Attempts = mem
		}
	}
	s.dispatch()
}

// dispatch carries out plan: starts queued jobs within the free slots, drops duplicates
// and refuses jobs the configuration does not allow.
func (s *supervisor) dispatch() {
	if s.state != serving || s.recovering || time.Now().Before(s.pausedUntil) {
		return
	}
	s.noticeWithdrawn()
	s.warnUnknownEngines()
	runs := make([]running, 0, len(s.builds))
	for _, b := range s.builds {
		runs = append(runs, running{name: b.name, job: b.job, withdrawn: b.withdrawn})
	}
	s.probeEngines()
	decisions, wake := plan(s.queue, runs, s.o.Limit-len(s.builds), s.config(), s.pool, time.Now())
	taken := map[string]bool{}
	fileOps := 0
	for _, d := range decisions {
		if fileOps >= maxFileOpsPerDispatch {
			// Thousands of files to set aside (the webhook user can write them) must not
			// keep the loop from its signals: the rest waits for the next turn.
			time.AfterFunc(0, func() { s.send(retryDispatch{}) })
			break
		}
		if d.action != start {
			fileOps++
		}
		if d.action == interrupt {
			if b := s.builds[d.q.name]; b != nil {
				s.withdraw(b, d.reason)
			}
			continue
		}
		taken[d.q.name] = true
		switch d.action {
		case refuse:
			if dest, err := s.spool.Reject(spool.New, d.q.name, d.reason); err != nil && dest == "" {
				s.log.Error("cannot move a job file to bad/", "job", d.q.name, "error", err.Error())
			} else {
				s.log.Warn("rejected a job file", "job", d.q.name, "reason", d.reason, "moved_to", dest)
			}
		case drop:
			s.log.Info("dropped a job", "job", d.q.name, "project", d.q.job.Project, "ref", d.q.job.Ref,
				"commit", workdir.ShortCommit(d.q.job.Commit), "reason", d.reason)
			s.spool.Remove(spool.New, d.q.name)
		case start:
			if err := s.spool.Claim(d.q.name); err != nil {
				if !errors.Is(err, spool.ErrClaimed) && err.Error() != s.claimErr {
					s.claimErr = err.Error()
					s.log.Error("cannot claim a job: it stays queued", "job", d.q.name, "error", err.Error())
				}
				continue // gone (claimed or removed by someone else), or cur/ refuses it
			}
			s.claimErr = ""
			s.start(d.q.name, d.q.job, d.engine)
		}
	}
	if len(decisions) > 0 {
		kept := s.queue[:0]
		for _, q := range s.queue {
			if !taken[q.name] {
				kept = append(kept, q)
			}
		}
		s.queue = kept
		s.modified++
	}
	s.setRetryTimer(wake)
	if notifying() {
		notify(s.status())
	}
}

// noticeWithdrawn marks the running builds that `pipelined cancel` withdrew (its marker is
// beside the job) when a job for the same commit waits: the new job stands for the commit,
// not the build being canceled. Only those are looked at, so dispatch reads no file for
// nothing.
func (s *supervisor) noticeWithdrawn() {
	queued := map[string]bool{}
	for _, q := range s.queue {
		queued[q.job.Key()] = true
	}
	for _, b := range s.builds {
		if !b.withdrawn && b.job.Commit != "" && queued[b.job.Key()] && s.spool.Withdrawn(b.name) != "" {
			b.withdrawn = true
		}
	}
}

// warnUnknownEngines says, once per project, that a project's jobs wait for engines the
// daemon was not given.
func (s *supervisor) warnUnknownEngines() {
	for _, q := range s.queue {
		p := s.config().Project(q.job.Project)
		if p == nil || !p.Build || s.warnedEngines[p.Name] {
			continue
		}
		if names := p.EngineNames(); !s.pool.Known(names) {
			s.warnedEngines[p.Name] = true
			s.log.Warn("a project's jobs wait for Docker engines pipelined was not given (--engine NAME=DOCKER_HOST)",
				"project", p.Name, "engines", p.Engines)
		}
	}
}

// setRetryTimer wakes the main loop when the next back-off ends.
func (s *supervisor) setRetryTimer(at time.Time) {
	if s.retryTimer != nil {
		s.retryTimer.Stop()
		s.retryTimer = nil
	}
	if !at.IsZero() {
		s.retryTimer = time.NewTimer(time.Until(at))
	}
}

// markStopped leaves the stop marker beside the job of every build the shutdown cancels,
// so that a build that ends after this daemon has gone (and is settled by the next one) is
// built again, while one an operator cancels by a signal is not.
func (s *supervisor) markStopped() {
	for name, b := range s.builds {
		if b.withdrawn {
			continue
		}
		if err := s.spool.MarkStopped(name); err != nil {
			s.log.Error("cannot mark a build as canceled by the shutdown; if it ends after this daemon, its job is not built again",
				"job", name, "error", err.Error())
		}
	}
}

// cancelAdopted stops the adopted builds at a shutdown; the daemon's own are stopped by
// canceling buildsCtx.
func (s *supervisor) cancelAdopted() {
	for _, b := range s.builds {
		if b.proc == nil {
			s.stopAdopted(b)
		}
	}
}

// killLeftovers kills, at the exit deadline, the builds that are still there and whatever
// their steps started: nothing outlives its build (SPEC §8).
func (s *supervisor) killLeftovers() {
	for _, b := range s.builds {
		b.group.Kill(syscall.SIGKILL)
		if dir, st := findBuild(s.layout, b.job, b.name); st != nil {
			killGroups(st.Groups)
			procexec.KillByEnv(env.BuildRunPath, dir)
		}
	}
}

// watchSignals passes the signals on to the main loop. It arms the watchdog itself when a
// signal asks the daemon to stop (SIGTERM, SIGQUIT, a second SIGINT): should the main loop
// be held up, the process still exits at its deadline.
func (s *supervisor) watchSignals(caught <-chan os.Signal) <-chan os.Signal {
	out := make(chan os.Signal, 8)
	go func() {
		interrupts, armed := 0, false
		for sig := range caught {
			if sig == syscall.SIGINT {
				interrupts++
			}
			if !armed && (sig == syscall.SIGTERM || sig == syscall.SIGQUIT || interrupts > 1) {
				armed = true
				time.AfterFunc(exitDeadline(s.o.Grace)+watchdogMargin, s.watchdog)
			}
			select {
			case out <- sig:
			case <-s.done:
				return
			}
		}
	}()
	return out
}

// watchdog ends the process if the shutdown has not: the main loop would have returned at
// the exit deadline unless something held it.
func (s *supervisor) watchdog() {
	select {
	case <-s.done:
		return
	default:
	}
	s.groupsMu.Lock()
	for _, g := range s.groups {
		g.Kill(syscall.SIGKILL)
	}
	s.groupsMu.Unlock()
	s.log.Error("the shutdown did not complete by its deadline; exiting")
	os.Exit(1)
}

// config is the configuration in force.
func (s *supervisor) config() *config.Config { return s.cfg.Load() }

// status is the STATUS= line for systemd.
func (s *supervisor) status() string {
	return statusLine(len(s.builds), len(s.queue))
}

func (s *supervisor) warn(cfg *config.Config) {
	for _, w := range cfg.Warnings {
		s.log.Warn("configuration warning", "problem", w.Error())
	}
}

// timerC is t's channel, or nil (never ready) for no timer.
func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}

func itoa(n int) string { return strconv.Itoa(n) }
