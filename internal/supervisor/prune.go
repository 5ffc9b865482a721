package supervisor

import (
	"context"

	"pipelined/internal/docker"
	"pipelined/internal/retention"
)

// pruner applies retention, one ref at a time, off the loop: it reads build records and
// asks Docker about images. Each removal is one log line.
func (r *runtime) pruner(ctx context.Context) {
	rm := &retention.Remover{Layout: r.layout, Docker: docker.Run}
	for {
		var req Prune
		select {
		case <-ctx.Done():
			return
		case req = <-r.prunes:
		}
		for _, o := range rm.PruneRef(ctx, r.layout.RefDir(req.Project, req.Ref), req.Policy, false, req.Done) {
			logRemoval(r.log.Info, r.log.Warn, req.Project, req.Ref, o)
		}
	}
}

func policyOf[T ~int](keepBuilds, keepDays T) retention.Policy {
	return retention.Policy{KeepBuilds: int(keepBuilds), KeepDays: int(keepDays)}
}

// logRemoval logs what became of one build retention chose: removed, or kept after all.
func logRemoval(info, warn func(string, ...any), project, ref string, o retention.Outcome) {
	attrs := []any{"project", project, "ref", ref, "dir", o.Dir, "reason", o.Reason}
	if o.Err != nil {
		warn("kept a build retention would remove", append(attrs, "error", o.Err.Error())...)
		return
	}
	if o.Image != "" {
		attrs = append(attrs, "image", o.Image)
	}
	info("removed a build", attrs...)
}
