package supervisor

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"pipelined/internal/config"
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

type supervisor struct {
	o      Options
	log    *slog.Logger
	cfg    *config.Config
	layout workdir.Layout
	spool  *spool.Spool
	state  state

	builds       map[string]*build // job file name → running build
	buildsCtx    context.Context   // canceled to cancel every build
	cancelBuilds context.CancelFunc
	events       chan any // buildDone and watcherDone, from the goroutines that wait
	done         chan struct{}

	watcher        *procexec.Process
	stopWatcher    context.CancelFunc
	watcherStarted time.Time
	watcherBackoff time.Duration
	restartWatcher *time.Timer

	deadline    *time.Timer // set once stopping: the daemon exits then, whatever remains
	pausedUntil time.Time   // no dispatching before, after pipeline-build failed to start
}

// Run runs the daemon until a signal ends it. It returns nil after a completed drain or
// shutdown, a *config.Error (joined) if the configuration is invalid at start, or another
// error if it cannot start.
func Run(ctx context.Context, o Options) error {
	// Every handler is in place before any work starts: until then, SIGHUP, SIGINT and
	// SIGTERM would kill the process and SIGQUIT would dump goroutines.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT)
	defer signal.Stop(sigs)

	if o.Limit < 1 {
		o.Limit = 1
	}
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	s := &supervisor{o: o, log: o.Logger, builds: map[string]*build{}, events: make(chan any), done: make(chan struct{})}
	defer close(s.done)
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
	if s.spool, err = spool.Open(s.layout.SpoolDir()); err != nil {
		return err
	}
	if err := s.setConfig(cfg); err != nil {
		return err
	}
	s.recover(ctx)
	notifier, err := s.spool.Notify()
	if err != nil {
		return err
	}
	watchCtx, stopWatching := context.WithCancel(context.Background())
	defer stopWatching()
	go notifier.Run(watchCtx, func(err error) { s.log.Warn("spool watch error, rescanning", "error", err.Error()) })
	configChanged, err := watchConfigFile(watchCtx, o.Config)
	if err != nil {
		s.log.Warn("not watching the configuration file for changes; SIGHUP still reloads it", "error", err.Error())
	}
	s.spool.CleanTmp(staleTmp)
	s.dispatch()
	s.startWatcher()
	s.log.Info("started", "workdir", s.layout.Root, "projects", len(cfg.Projects), "limit", o.Limit,
		"interval", o.Interval.String(), "version", o.Version)
	notify("READY=1", s.status())
	debug.FreeOSMemory() // start-up (configuration, recovery) is over

	rescan := time.NewTicker(rescanEvery)
	defer rescan.Stop()
	var reloadTimer *time.Timer
	for !s.finished() {
		select {
		case sig := <-sigs:
			s.onSignal(sig.(syscall.Signal))
		case <-notifier.C:
			s.dispatch()
		case <-rescan.C:
			s.spool.CleanTmp(staleTmp)
			s.dispatch()
		case <-configChanged:
			if reloadTimer == nil {
				reloadTimer = time.NewTimer(reloadDebounce)
			} else {
				reloadTimer.Reset(reloadDebounce)
			}
		case <-timerC(reloadTimer):
			s.reload("the configuration file changed")
		case ev := <-s.events:
			s.onEvent(ev)
			if len(s.builds) == 0 {
				// Idle again: hand back what the builds' bookkeeping took.
				debug.FreeOSMemory()
			}
		case <-timerC(s.restartWatcher):
			s.restartWatcher = nil
			s.startWatcher()
		case <-timerC(s.deadline):
			s.log.Error("exit deadline reached, leaving builds behind", "running", len(s.builds))
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
	case sig == syscall.SIGINT && s.state == serving:
		s.state = draining
		s.log.Info("draining: no new builds; waiting for the running ones (SIGINT again cancels them)", "running", len(s.builds))
		notify("STOPPING=1", s.status())
		s.stopTheWatcher()
	case s.state != stopping: // SIGTERM, SIGQUIT, or a second SIGINT
		s.state = stopping
		s.log.Info("stopping: canceling the running builds", "signal", sig.String(), "running", len(s.builds),
			"deadline", exitDeadline(s.o.Grace).String())
		notify("STOPPING=1", s.status())
		s.deadline = time.NewTimer(exitDeadline(s.o.Grace))
		s.stopTheWatcher()
		s.cancelBuilds()
		s.cancelAdopted()
	}
}

// onEvent handles what the waiting goroutines report.
func (s *supervisor) onEvent(ev any) {
	switch ev := ev.(type) {
	case buildDone:
		s.finish(ev)
		s.dispatch()
	case watcherDone:
		s.watcherExited(ev)
	case retryDispatch:
		s.dispatch()
	}
}

// send hands an event to the main loop, unless the daemon has returned.
func (s *supervisor) send(ev any) {
	select {
	case s.events <- ev:
	case <-s.done:
	}
}

// status is the STATUS= line for systemd.
func (s *supervisor) status() string {
	queued, _ := s.spool.List(spool.New)
	return statusLine(len(s.builds), len(queued))
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
