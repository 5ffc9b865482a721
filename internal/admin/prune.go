package admin

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"pipelined/internal/config"
	"pipelined/internal/docker"
	"pipelined/internal/exitcode"
	"pipelined/internal/retention"
)

// PruneOptions describe a `pipelined prune`.
type PruneOptions struct {
	Config, Workdir string
	Project         string // "" for every project
	DryRun          bool   // say what would go, remove nothing
}

// Prune applies the keep_builds and keep_days of the projects (every one, or one) to
// every ref of theirs, as the daemon does after each build, and writes one line per build
// it removes (or, with DryRun, would remove). It returns how many.
func Prune(ctx context.Context, w io.Writer, o PruneOptions) (int, error) {
	cfg, err := config.Load(o.Config)
	if err != nil {
		return 0, err
	}
	if o.Project != "" && cfg.Project(o.Project) == nil {
		return 0, exitcode.Usagef("project %q is not in %s", o.Project, o.Config)
	}
	layout, err := openWorkdir(o.Workdir)
	if err != nil {
		return 0, err
	}
	r := &retention.Remover{Layout: layout, Docker: docker.Run}
	n, failed := 0, 0
	for _, p := range cfg.Projects {
		policy := retention.Policy{KeepBuilds: int(p.KeepBuilds), KeepDays: int(p.KeepDays)}
		if (o.Project != "" && p.Name != o.Project) || !policy.Set() {
			continue
		}
		refs, _ := filepath.Glob(filepath.Join(layout.ProjectDir(p.Name), "*"))
		for _, refDir := range refs {
			for _, out := range r.PruneRef(ctx, refDir, policy, o.DryRun) {
				switch {
				case o.DryRun:
					fmt.Fprintf(w, "would remove %s (%s)\n", out.Dir, out.Reason)
					n++
				case out.Err != nil:
					fmt.Fprintf(w, "kept %s: %v\n", out.Dir, out.Err)
					failed++
				case out.Image != "":
					fmt.Fprintf(w, "removed %s (%s) and its image %s\n", out.Dir, out.Reason, out.Image)
					n++
				default:
					fmt.Fprintf(w, "removed %s (%s)\n", out.Dir, out.Reason)
					n++
				}
			}
		}
	}
	if failed > 0 {
		return n, fmt.Errorf("%d of the builds to remove could not be removed (see above)", failed)
	}
	return n, nil
}
