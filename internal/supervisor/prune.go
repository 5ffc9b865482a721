package supervisor

import (
	"context"

	"pipelined/internal/docker"
	"pipelined/internal/retention"
)

// pruneRequest asks for the retention of one ref to be applied.
type pruneRequest struct{ project, ref, done string } // done: the build that just ended

// prune asks the pruner to apply a project's retention to a ref after one of its builds
// ended; a request that finds the pruner busy with many is dropped, as the ref's next
// build asks again.
func (s *supervisor) prune(project, ref, done string) {
	p := s.config().Project(project)
	if p == nil || !policyOf(p.KeepBuilds, p.KeepDays).Set() {
		return
	}
	select {
	case s.prunes <- pruneRequest{project, ref, done}:
	default:
	}
}

func policyOf[T ~int](keepBuilds, keepDays T) retention.Policy {
	return retention.Policy{KeepBuilds: int(keepBuilds), KeepDays: int(keepDays)}
}

// pruner applies retention, one ref at a time, off the main loop: it reads build records
// and asks Docker about images. Each removal is one log line.
func (s *supervisor) pruner(ctx context.Context) {
	r := &retention.Remover{Layout: s.layout, Docker: docker.Run}
	for req := range s.prunes {
		p := s.config().Project(req.project)
		if p == nil {
			continue
		}
		for _, o := range r.PruneRef(ctx, s.layout.RefDir(req.project, req.ref), policyOf(p.KeepBuilds, p.KeepDays), false, req.done) {
			logRemoval(s.log.Info, s.log.Warn, req.project, req.ref, o)
		}
	}
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
