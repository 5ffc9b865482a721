package supervisor

import (
	"context"
	"os"
	"strconv"
	"syscall"
	"time"

	"pipelined/internal/procexec"
	"pipelined/internal/watch"
)

// watcherDone reports that pipeline-watch exited.
type watcherDone struct {
	res procexec.Result
	err error
}

// watcherGrace is the time pipeline-watch has to exit on SIGTERM; it exits at once.
const watcherGrace = 2 * time.Second

// startWatcher runs pipeline-watch as a child. It reads the same configuration snapshot
// as the builds, and its log lines go straight to the daemon's stderr. Unlike a build it is
// not detached: it dies with the daemon, and the next daemon starts its own.
func (s *supervisor) startWatcher() {
	if s.o.Interval <= 0 || s.state != serving || s.watcher != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	argv := []string{s.o.Watch, "--config", s.layout.ConfigSnapshot(), "--workdir", s.layout.Root,
		"--interval", strconv.Itoa(int(s.o.Interval.Seconds()))}
	if s.o.PollTimeout > 0 {
		argv = append(argv, "--timeout", strconv.Itoa(int(s.o.PollTimeout.Seconds())))
	}
	p, err := procexec.Start(ctx, procexec.Cmd{
		Argv:   argv,
		Env:    os.Environ(),
		Output: os.Stderr,
		Grace:  watcherGrace,
	})
	if err != nil {
		cancel()
		s.log.Error("cannot start pipeline-watch", "error", err.Error())
		s.scheduleWatcherRestart()
		return
	}
	s.watcher, s.stopWatcher, s.watcherStarted = p, cancel, time.Now()
	go func() {
		res, err := p.Wait()
		s.send(watcherDone{res: res, err: err})
	}()
}

// watcherExited restarts a watcher that died on its own, with back-off: one second,
// doubling up to a minute, back to one second after it ran for a minute.
func (s *supervisor) watcherExited(ev watcherDone) {
	s.watcher = nil
	if s.stopWatcher != nil {
		s.stopWatcher()
		s.stopWatcher = nil
	}
	if s.state != serving {
		return
	}
	if time.Since(s.watcherStarted) > watcherBackoffMax {
		s.watcherBackoff = 0
	}
	s.scheduleWatcherRestart()
	s.log.Warn("watcher exited, restarting", "status", describe(ev.res), "in", s.watcherBackoff.String())
}

func (s *supervisor) scheduleWatcherRestart() {
	switch {
	case s.watcherBackoff == 0:
		s.watcherBackoff = time.Second
	default:
		s.watcherBackoff = min(2*s.watcherBackoff, watcherBackoffMax)
	}
	s.restartWatcher = time.NewTimer(s.watcherBackoff)
}

// stopTheWatcher asks pipeline-watch to exit; its exit arrives as a watcherDone.
func (s *supervisor) stopTheWatcher() {
	if s.restartWatcher != nil {
		s.restartWatcher.Stop()
		s.restartWatcher = nil
	}
	if s.stopWatcher != nil {
		s.stopWatcher()
	}
}

// hupWatcher tells pipeline-watch to re-read the configuration. The signal goes to its
// process only: its running git ls-remote children must not get it.
func (s *supervisor) hupWatcher() {
	if s.watcher != nil {
		syscall.Kill(s.watcher.Pid, syscall.SIGHUP)
	}
}

// describe says how a process ended: "exit status 1", "killed by signal 9 (SIGKILL)".
func describe(res procexec.Result) string {
	switch {
	case res.Signal != 0:
		return "killed by " + procexec.SignalText(res.Signal)
	case res.ExitCode >= 0:
		return "exit status " + itoa(res.ExitCode)
	default:
		return "its process is gone"
	}
}

// pollNow passes SIGUSR1 on to pipeline-watch: poll now, whatever the interval (SPEC §6).
//
// Without a watcher (--interval 0, the webhook set-up), one pass runs in a pipeline-watch
// --once of its own. A watcher that has only just started may not have its handler yet (the
// signal would kill it): it gets the request a moment later. Requests that come meanwhile are
// one request.
func (s *supervisor) pollNow() {
	switch {
	case s.state != serving:
		return
	case s.watcher == nil && s.restartWatcher != nil:
		// The watcher is being restarted: it asks every remote as it starts.
	case s.watcher == nil:
		s.pollOnce()
	case time.Since(s.watcherStarted) < watcherSettle:
		if !s.pollPending {
			s.pollPending = true
			time.AfterFunc(watcherSettle, func() { s.send(pollAgain{}) })
		}
	default:
		s.pollPending = false
		syscall.Kill(s.watcher.Pid, syscall.SIGUSR1)
	}
}

// pollAgain asks the main loop to pass on a poll request it held back.
type pollAgain struct{}

// watcherSettle is how long a watcher just started gets to install its signal handlers.
const watcherSettle = time.Second

// pollOnce runs one pass of pipeline-watch --once for the projects the poll requests name
// (every project without any), when the daemon runs no watcher. One runs at a time.
func (s *supervisor) pollOnce() {
	if s.polling {
		s.pollPending = true
		return
	}
	s.polling, s.pollPending = true, false
	argv := []string{s.o.Watch, "--config", s.layout.ConfigSnapshot(), "--workdir", s.layout.Root, "--once", "--quiet"}
	if s.o.PollTimeout > 0 {
		argv = append(argv, "--timeout", strconv.Itoa(int(s.o.PollTimeout.Seconds())))
	}
	go func() {
		for name := range watch.TakePollRequests(s.layout) {
			argv = append(argv, "--project", name)
		}
		res, err := procexec.Run(s.bgCtx, procexec.Cmd{Argv: argv, Env: os.Environ(), Output: os.Stderr, Grace: watcherGrace})
		if err != nil && res.ExitCode != 1 {
			s.log.Error("the poll did not run", "error", err.Error())
		}
		s.send(polled{})
	}()
	s.log.Info("polling now: one pass of pipeline-watch --once (no watcher runs)")
}

// polled reports that a pollOnce pass ended.
type polled struct{}
