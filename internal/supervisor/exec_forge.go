package supervisor

import (
	"context"
	"errors"
	"os"

	"pipelined/internal/forge"
	"pipelined/internal/procexec"
)

// queueStatus writes one of the daemon's forge statuses into the outbox. One that cannot
// be written (a full disk) is logged: it never changes what happens to the job.
func (r *runtime) queueStatus(e QueueStatus) {
	if err := forge.Enqueue(r.layout.OutboxDir(), e.Record); err != nil {
		r.log.Warn("cannot queue the forge status", "project", e.Record.Project, "ref", e.Record.Ref, "error", err.Error())
	}
	r.send(StatusQueued{})
}

// runDelivery runs pipeline-build --deliver, which delivers the outbox and exits once it is
// empty; its log lines go to the daemon's stderr.
func (r *runtime) runDelivery(ctx context.Context) DeliveryEnded {
	argv := []string{r.o.Build, "--deliver", "--config", r.layout.ConfigSnapshot(), "--workdir", r.layout.Root}
	_, err := procexec.Run(ctx, procexec.Cmd{Argv: argv, Env: os.Environ(), Output: os.Stderr, Grace: watcherGrace})
	if ctx.Err() != nil || errors.Is(err, procexec.ErrCanceled) {
		return DeliveryEnded{}
	}
	return DeliveryEnded{Err: err}
}
