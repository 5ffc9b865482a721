package build

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/forge"
	"pipelined/internal/forgehttp"
	"pipelined/internal/outcome"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// handDelivery bounds how long pipeline-build run by hand spends delivering its final
// status at its end (after a cancel: handDeliveryCanceled); what it cannot deliver stays in
// the outbox for the next daemon.
const (
	handDelivery         = 10 * time.Second
	handDeliveryCanceled = time.Second
)

// report queues a status of this build for the forge. A status that cannot be queued (a
// full disk) is noted in build.log and on stderr: it never fails the build, whose result is
// its own and recorded in build.json.
func (b *builder) report(state forge.State, description string) {
	if !forge.Reports(b.project) || b.commit == "" {
		return
	}
	rec, err := forge.NewRecord(b.project, b.ref, b.commit, state, description, time.Now())
	if err == nil {
		b.reportKey = rec.Key()
		err = forge.Enqueue(b.layout.OutboxDir(), rec)
	}
	if err != nil {
		if b.log != nil {
			b.log.Note("the forge will not show this: %v", err)
		}
		if b.o.Summary != nil {
			fmt.Fprintf(b.o.Summary, "pipeline-build: warning: %v\n", err)
		}
		return
	}
	if b.delivery != nil && state == forge.Started {
		b.delivery.start(b.reportKey)
	}
}

// started reports the start of the steps, naming where the build runs; by hand with no
// daemon on the work directory, it begins delivering the build's statuses itself.
func (b *builder) started() {
	b.startDelivery()
	where := b.o.Engine.Name
	if where == "" {
		where, _ = os.Hostname()
	}
	b.report(forge.Started, "building on "+where)
}

// finished reports the build's result: the step that failed with its exit status, why it
// was canceled or skipped. An infrastructure error under the daemon is the daemon's to
// report (it retries the job); by hand nobody retries it.
func (b *builder) finished(result, reason string) {
	switch {
	case b.status.Retry && b.o.JobFile != "":
		return
	case b.status.Retry:
		b.report(forge.Broken, "infrastructure error: "+reason)
	case result == outcome.Success:
		b.report(forge.Succeeded, fmt.Sprintf("succeeded in %v", time.Since(b.status.Started).Round(time.Second)))
	case result == outcome.Skipped:
		b.report(forge.Skipped, reason)
	case result == outcome.Canceled && b.stoppedByDaemon():
		b.report(forge.Interrupted, "interrupted: the daemon stopped; built again when it starts")
	case result == outcome.Canceled:
		b.report(forge.Canceled, canceledText(reason))
	default:
		b.report(forge.Failed, b.failedText(reason))
	}
}

// startDelivery makes the delivery of a build run by hand with no daemon on the work
// directory; the daemon's Sender delivers otherwise.
func (b *builder) startDelivery() {
	if b.delivery == nil {
		_, daemonRuns := spool.DaemonPID(b.layout.DaemonLock())
		b.delivery = newDelivery(b.o, b.cfg, b.layout.OutboxDir(), daemonRuns)
	}
}

// reportEnd reports the end of the build and, run by hand without a daemon, delivers it.
func (b *builder) reportEnd(ctx context.Context, result, reason string) {
	b.finished(result, reason)
	if b.delivery != nil && b.reportKey != "" {
		b.delivery.finish(b.reportKey, ctx.Err() != nil)
	}
}

// stoppedByDaemon reports whether the daemon's shutdown canceled the build: its job is kept
// and built again (SPEC §5.1).
func (b *builder) stoppedByDaemon() bool {
	return b.o.JobFile != "" && b.cancelRecord().Kind == outcome.Stopped
}

// canceledText is the description of a cancel: "superseded by SHORT" as it is, else
// "canceled: REASON".
func canceledText(reason string) string {
	if len(reason) > 14 && reason[:14] == "superseded by " {
		return reason
	}
	return "canceled: " + reason
}

// failedText names the failed step and how its last command ended ("exit 2", "timed out").
func (b *builder) failedText(reason string) string {
	step := b.status.FailedStep
	for i := len(b.status.Steps) - 1; i >= 0; i-- {
		if c := b.status.Steps[i]; c.Step == step {
			return fmt.Sprintf("%s failed (%s)", step, c.Outcome)
		}
	}
	return "failed: " + reason
}

// delivery delivers the statuses of a build run by hand when no daemon runs on its work
// directory: the daemon's Sender does it otherwise, and two senders could deliver one
// commit's states out of order.
type delivery struct {
	opts   forgehttp.SenderOptions
	cancel context.CancelFunc
	done   chan struct{}
}

// newDelivery returns the delivery of a build run by hand, or nil when the daemon delivers.
func newDelivery(o Options, cfg *config.Config, outbox string, daemonRuns bool) *delivery {
	if o.JobFile != "" || daemonRuns {
		return nil
	}
	log := slog.New(slog.DiscardHandler)
	if o.Summary != nil {
		log = slog.New(slog.NewTextHandler(o.Summary, nil))
	}
	return &delivery{opts: forgehttp.SenderOptions{Outbox: outbox, Config: func() *config.Config { return cfg }, Log: log}}
}

// start delivers the start of the build while it runs.
func (d *delivery) start(key string) {
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel, d.done = cancel, make(chan struct{})
	go func() {
		defer close(d.done)
		forgehttp.Deliver(ctx, d.opts, func(r forge.Record) bool { return r.Key() == key })
	}()
}

// finish stops delivering the start (a newer state replaced it) and delivers the final
// state, for a bounded time.
func (d *delivery) finish(key string, canceled bool) {
	if d.cancel != nil {
		d.cancel()
		<-d.done
	}
	budget := handDelivery
	if canceled {
		budget = handDeliveryCanceled
	}
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	if left := forgehttp.Deliver(ctx, d.opts, func(r forge.Record) bool { return r.Key() == key }); left > 0 {
		d.opts.Log.Warn("the forge status waits in the outbox for the daemon", "outbox", d.opts.Outbox)
	}
}

// deliverLinger is how long pipeline-build --deliver waits for statuses once the outbox is
// empty: a build that has just started writes its first one within it.
const deliverLinger = 10 * time.Second

// DeliverStatuses delivers the forge statuses waiting in the outbox of a work directory,
// all of them, and returns once none is left or ctx ends: pipelined runs it (pipeline-build
// --deliver) when statuses are waiting, so that the daemon itself never talks to a forge
// nor links an HTTP client. What is not delivered stays in the outbox for the next run.
func DeliverStatuses(ctx context.Context, configPath, workdirPath string, log *slog.Logger) error {
	cfg, err := config.Load(configPath)
	if err != nil {
		return err
	}
	layout, err := workdir.Open(workdirPath)
	if err != nil {
		return err
	}
	forgehttp.DeliverAll(ctx, forgehttp.SenderOptions{Outbox: layout.OutboxDir(), Config: func() *config.Config { return cfg }, Log: log}, deliverLinger)
	return nil
}
