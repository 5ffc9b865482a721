package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/forge"
	"pipelined/internal/outcome"
	"pipelined/internal/polling"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// DaemonSignals are the signals the daemon acts on (SPEC §8). cmd/pipelined catches them
// before anything else, so that one sent at any moment of start-up does what it does later.
var DaemonSignals = []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGUSR1}

// Run runs the daemon until a signal ends it. It returns nil after a completed drain or
// shutdown, a *config.Error (joined) if the configuration is invalid at start, a
// *spool.DaemonRunningError if another daemon holds the work directory, or another error if
// it cannot start. Signals come from o.Signals, or are caught here when it is nil.
func Run(ctx context.Context, o Options) error {
	sigs := o.Signals
	if sigs == nil {
		caught := make(chan os.Signal, 16)
		signal.Notify(caught, DaemonSignals...)
		defer signal.Stop(caught)
		sigs = caught
	}
	cfg, src, err := config.LoadSource(o.Config)
	if err != nil {
		return err
	}
	layout, err := workdir.New(o.Workdir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(layout.StateDir(), 0o777); err != nil {
		return fmt.Errorf("creating the work directory: %w", err)
	}
	lock, err := spool.LockDaemon(layout.DaemonLock())
	if err != nil {
		return err
	}
	defer lock.Close()
	sp, err := spool.Open(layout.SpoolDir())
	if err != nil {
		return err
	}
	if _, err := writeSnapshot(layout, src, o.Config); err != nil {
		return fmt.Errorf("writing the configuration snapshot: %w", err)
	}
	notifier, err := sp.Notify()
	if err != nil {
		return err
	}
	r := newRuntime(o, layout, outcome.NewJobs(sp))
	return r.run(sigs, notifier, cfg)
}

// runtime carries out the machine's effects. It owns every goroutine of the daemon, in
// one group that it stops and joins when the machine is done.
type runtime struct {
	o      Options
	log    *slog.Logger
	layout workdir.Layout
	jobs   *outcome.Jobs
	events chan Event
	group  *group
	files  *serial // every job-file operation, in the order the machine asked for them
	scan   *scanner
	pages  *pageWriter
	prunes chan Prune
	procs  procTable

	passCtx    context.Context // the passes' context: canceled by StopPasses
	stopPasses context.CancelFunc
	// stopDelivery stops the running pipeline-build --deliver; only the loop touches it.
	stopDelivery context.CancelFunc
}

func newRuntime(o Options, layout workdir.Layout, jobs *outcome.Jobs) *runtime {
	r := &runtime{o: o, log: o.Logger, layout: layout, jobs: jobs, events: make(chan Event, 64), group: newGroup(),
		files: newSerial(), prunes: make(chan Prune, 64)}
	r.scan = newScanner(jobs, layout, o.Logger)
	r.pages = newPageWriter(layout, jobs, o.Logger)
	r.passCtx, r.stopPasses = context.WithCancel(r.group.ctx)
	r.procs.own = map[int]context.CancelFunc{}
	return r
}

// run is the event loop: each event goes to the machine, each effect it returns is carried
// out, here when it cannot block, else by an executor. The loop itself never waits on a
// file, a process or the Docker engine (SPEC §8).
func (r *runtime) run(sigs <-chan os.Signal, notifier *spool.Notifier, cfg *config.Config) error {
	defer r.shutdown()
	r.group.Go(func(ctx context.Context) {
		notifier.Run(ctx, func(err error) { r.log.Warn("spool watch error, rescanning", "error", err.Error()) })
	})
	configChanged, err := r.watchConfigFile(r.o.Config)
	if err != nil {
		r.log.Warn("not watching the configuration file for changes; SIGHUP still reloads it", "error", err.Error())
	}
	r.group.Go(r.files.run)
	r.group.Go(r.pages.run)
	r.group.Go(r.pruner)
	m, effects := NewMachine(Settings{Limit: r.o.Limit, Grace: r.o.Grace, Interval: r.o.Interval, Engines: r.o.Engines, EngineCheck: r.o.EngineCheck}, cfg, time.Now())
	r.execute(effects)
	r.log.Info("started", "workdir", r.layout.Root, "projects", len(cfg.Projects), "limit", m.set.Limit,
		"interval", r.o.Interval.String(), "version", r.o.Version)
	rescan := time.NewTicker(orDefault(r.o.Rescan, rescanEvery))
	defer rescan.Stop()
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	for !m.Done() {
		var ev Event
		select {
		case sig := <-sigs:
			ev = Signaled{Sig: sig.(syscall.Signal)}
		case <-notifier.C:
			ev = SpoolChanged{}
		case <-rescan.C:
			ev = SpoolChanged{Rescan: true}
		case <-configChanged:
			ev = ConfigChanged{}
		case <-timerAt(wake, m.Wake()):
			ev = Woke{}
		case ev = <-r.events:
		}
		r.execute(m.Step(ev, time.Now()))
	}
	return nil
}

// shutdownBound is how long the daemon waits for its goroutines once the machine is done:
// the exit deadline of SPEC §8 includes it.
const shutdownBound = 200 * time.Millisecond

// shutdown stops every goroutine of the daemon and waits for them, within shutdownBound: one
// stuck in the kernel (a hung file system) is left to the process's exit.
func (r *runtime) shutdown() {
	if left := r.group.Stop(shutdownBound); left > 0 {
		r.log.Warn("exiting with work left behind", "goroutines", left)
	}
}

// execute carries out effects, in order.
func (r *runtime) execute(effects []Effect) {
	for _, e := range effects {
		switch e := e.(type) {
		case Log:
			r.log.Log(context.Background(), e.Level, e.Msg, e.Attrs...)
		case Notify:
			notifyState(e.State)
		case KillGroups:
			r.kill(e)
		case PublishEngines:
			r.pages.publish(e.States)
		case RefreshPages:
			r.pages.refresh()
		case Prune:
			select {
			case r.prunes <- e:
			default: // busy with many: the ref's next build asks again
			}
		case FreeMemory:
			debug.FreeOSMemory()
		case StopPasses:
			r.stopPasses()
		case StopDelivery:
			if r.stopDelivery != nil {
				r.stopDelivery()
			}
		default:
			r.executeLater(e)
		}
	}
}

// executeLater hands an effect that may block to its executor: job files go to the serial
// spool executor, everything else to a goroutine of the group.
func (r *runtime) executeLater(e Effect) {
	switch e := e.(type) {
	case Scan:
		r.files.do(func() { r.send(r.scan.answer(e.Seq)) })
	case Recover:
		r.files.do(r.recover)
	case StartBuild:
		r.files.do(func() { r.startBuild(e) })
	case Settle:
		r.files.do(func() { r.send(r.settle(e)) })
	case SetAside:
		r.files.do(func() { r.setAside(e) })
	case Drop:
		r.files.do(func() { r.drop(e) })
	case Adopt:
		r.group.Go(func(ctx context.Context) { r.waitAdopted(ctx, e) })
	case CancelBuild:
		r.group.Go(func(context.Context) { r.cancelBuild(e) })
	case Reload:
		r.group.Go(func(context.Context) { r.send(r.reload(e.Why)) })
	case AskEngine:
		r.group.Go(func(ctx context.Context) { r.askEngine(ctx, e) })
	case CleanEngine:
		r.group.Go(func(ctx context.Context) { r.removeOrphanContainers(ctx, e.Engine, e.Running) })
	case StartPass:
		r.group.Go(func(context.Context) { r.send(r.runPass(e)) })
	case QueueStatus:
		r.files.do(func() { r.queueStatus(e) })
	case CheckOutbox:
		r.files.do(func() {
			if forge.Waits(r.layout.OutboxDir()) {
				r.send(StatusQueued{})
			}
		})
	case StartDelivery:
		ctx, cancel := context.WithCancel(r.group.ctx)
		r.stopDelivery = cancel
		r.group.Go(func(context.Context) { r.send(r.runDelivery(ctx)) })
	case TakePollRequests:
		r.group.Go(func(context.Context) { r.send(PollRequested{Projects: polling.TakePollRequests(r.layout)}) })
	default:
		panic(fmt.Sprintf("supervisor: no executor for %T", e))
	}
}

// send hands an event to the loop, unless the daemon is ending.
func (r *runtime) send(ev Event) {
	select {
	case r.events <- ev:
	case <-r.group.ctx.Done():
	}
}

// timerAt sets t to fire at at and returns its channel; nil (never ready) for no time.
func timerAt(t *time.Timer, at time.Time) <-chan time.Time {
	if at.IsZero() {
		t.Stop()
		return nil
	}
	t.Reset(time.Until(at))
	return t.C
}

// group is the daemon's goroutines: Go starts one, Stop cancels their context and waits for
// them.
type group struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	n      int
}

func newGroup() *group {
	ctx, cancel := context.WithCancel(context.Background())
	return &group{ctx: ctx, cancel: cancel}
}

// Go runs f on a goroutine of the group; f should return once ctx is done.
func (g *group) Go(f func(ctx context.Context)) {
	g.wg.Add(1)
	g.mu.Lock()
	g.n++
	g.mu.Unlock()
	go func() {
		defer g.wg.Done()
		defer func() { g.mu.Lock(); g.n--; g.mu.Unlock() }()
		f(g.ctx)
	}()
}

// Stop cancels the group's context and waits for its goroutines, at most bound; it returns
// how many are left.
func (g *group) Stop(bound time.Duration) int {
	g.cancel()
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return 0
	case <-time.After(bound):
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.n
	}
}

// serial runs functions one at a time, in the order they were given, on one goroutine: the
// spool executor. The loop hands it work without ever waiting.
type serial struct {
	mu    sync.Mutex
	queue []func()
	wake  chan struct{}
}

func newSerial() *serial { return &serial{wake: make(chan struct{}, 1)} }

func (s *serial) do(f func()) {
	s.mu.Lock()
	s.queue = append(s.queue, f)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *serial) run(ctx context.Context) {
	for {
		s.mu.Lock()
		work := s.queue
		s.queue = nil
		s.mu.Unlock()
		for _, f := range work {
			if ctx.Err() != nil {
				return
			}
			f()
		}
		if len(work) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
	}
}
