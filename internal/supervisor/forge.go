package supervisor

import (
	"context"
	"sync"

	"pipelined/internal/forge"
)

// startSender starts the delivery of forge statuses (issue 20) on a goroutine of its own,
// off the event loop: a forge that hangs or is down delays no dispatch, signal or build. The
// returned stop cancels a request in flight and waits for the goroutine; records not yet
// delivered stay in the outbox for the next start.
func (s *supervisor) startSender() (stop func()) {
	sender := forge.NewSender(forge.SenderOptions{Outbox: s.layout.OutboxDir(), Config: s.config, Log: s.log})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sender.Run(ctx)
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}

// reportToForge queues one of the daemon's own statuses: a job an infrastructure error
// stopped, to be retried, or one set aside in bad/. A status that cannot be queued is
// logged; it never changes what happens to the job.
func (s *supervisor) reportToForge(rec forge.Record, ok bool) {
	if !ok {
		return // the project reports to no forge, or the job never knew its commit
	}
	if err := forge.Enqueue(s.layout.OutboxDir(), rec); err != nil {
		s.log.Warn("cannot queue the forge status", "project", rec.Project, "ref", rec.Ref, "error", err.Error())
	}
}
