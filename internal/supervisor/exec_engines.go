package supervisor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/docker"
	"pipelined/internal/engine"
	"pipelined/internal/workdir"
)

// askEngine asks an engine `docker version` and reports what it said.
func (r *runtime) askEngine(ctx context.Context, e AskEngine) {
	err := askEngine(ctx, e.Engine.Host, orDefault(r.o.EngineTimeout, engineProbeTimeout))
	if ctx.Err() != nil {
		return // the daemon is ending: no answer is its own doing
	}
	r.send(EngineAnswered{Name: e.Engine.Name, Err: err, Check: e.Check})
}

// askEngine asks an engine whether it answers (docker version), for at most timeout, and
// says why not in docker's words or as a missing answer.
func askEngine(parent context.Context, host string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	out, err := docker.Run(ctx, host, docker.VersionArgs())
	switch {
	case err == nil || parent.Err() != nil:
		return err
	case ctx.Err() != nil:
		return fmt.Errorf("no answer to docker version within %v", timeout)
	case strings.TrimSpace(out) != "":
		return errors.New(lastLine(strings.TrimSpace(out)))
	}
	return err
}

// removeOrphanContainers removes every container on an engine labelled with this work
// directory whose build is not running.
func (r *runtime) removeOrphanContainers(ctx context.Context, e engine.Engine, running []string) {
	out, err := docker.Run(ctx, e.Host, docker.ListArgs(r.layout.Root))
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("not looking for orphan containers: the Docker engine did not answer", "engine", e.Name, "error", err.Error())
		}
		return
	}
	adopted := map[string]bool{}
	for _, name := range running {
		adopted[name] = true
	}
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Split(line, "\t") // an empty last field keeps its tab
		if len(fields) != 3 || fields[0] == "" {
			continue
		}
		name, dir, job := fields[0], fields[1], fields[2]
		// A run container names its build; an intermediate container of docker build only
		// names its job.
		if buildRunning(dir) || (dir == "" && adopted[job]) {
			continue
		}
		if _, err := docker.Run(ctx, e.Host, docker.RemoveWithVolumesArgs(name)); err != nil {
			r.log.Error("cannot remove an orphan container", "engine", e.Name, "container", name, "error", err.Error())
			continue
		}
		r.log.Info("removed an orphan container", "engine", e.Name, "container", name, "build", dir)
	}
}

// removeContainersOf removes the containers of a build that died and could not remove
// them itself: its run container, and what an interrupted docker build left.
func (r *runtime) removeContainersOf(ctx context.Context, dir string, st *buildlog.Status) {
	ids, err := docker.Run(ctx, st.DockerHost, docker.BuildContainersArgs(dir))
	if err != nil {
		return
	}
	labels := docker.Labels{Workdir: r.layout.Root, Project: st.Project, Ref: st.Ref, Commit: st.JobCommit(), Job: st.Job}
	intermediate, _ := docker.Run(ctx, st.DockerHost, docker.IntermediateArgs(labels))
	seen := map[string]bool{}
	for _, id := range strings.Fields(ids + " " + intermediate) {
		if seen[id] {
			continue // a run container carries the image's labels too
		}
		seen[id] = true
		if _, err := docker.Run(ctx, st.DockerHost, docker.RemoveWithVolumesArgs(id)); err == nil {
			r.log.Info("removed the container of a dead build", "container", id, "build", dir)
		}
	}
}

// buildRunning reports whether the build in dir is still running: its status says so and
// its process exists.
func buildRunning(dir string) bool {
	if dir == "" {
		return false
	}
	st, err := buildlog.LoadStatus(workdir.StatusPath(dir))
	return err == nil && st.Alive() // also while error_callback runs, after the result
}
