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
