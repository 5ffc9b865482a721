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
	s := NewSender(o)
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
