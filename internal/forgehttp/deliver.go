package forgehttp

import (
	"context"
	"time"

	"pipelined/internal/forge"
)

// Deliver sends the records only selects, for at most as long as ctx lasts, and returns
// how many are left: pipeline-build run by hand (no daemon on its work directory) delivers
// its own statuses this way, and leaves what it could not deliver in the outbox for the next
// daemon.
func Deliver(ctx context.Context, o SenderOptions, only func(forge.Record) bool) int {
	o.Only = only
	return deliver(ctx, NewSender(o))
}

// deliver sends until nothing is left or ctx ends, and returns how many are left.
func deliver(ctx context.Context, s *Sender) int {
	for {
		left, next := s.Pass(ctx)
		if left == 0 || ctx.Err() != nil {
			return left
		}
		t := time.NewTimer(max(time.Until(next), 10*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return left
		case <-t.C:
		}
	}
}

// DeliverAll sends every record of the outbox until none is left and none has come for
// linger, or ctx ends: the daemon runs it (pipeline-build --deliver) when a build starts or
// ends and when it writes a status itself, and a build writes its first status a moment after
// it starts.
func DeliverAll(ctx context.Context, o SenderOptions, linger time.Duration) {
	s := NewSender(o)
	idleSince := time.Now()
	for ctx.Err() == nil {
		if left, _ := s.Pass(ctx); left > 0 {
			deliver(ctx, s)
			idleSince = time.Now()
			continue
		}
		if time.Since(idleSince) >= linger {
			return
		}
		t := time.NewTimer(s.o.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
}
