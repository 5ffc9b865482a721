package supervisor

import (
	"context"
	"os"
	"strings"
	"syscall"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/docker"
	"pipelined/internal/procexec"
	"pipelined/internal/workdir"
)

// recover sorts out what a previous daemon left (SPEC §5, §8): claimed jobs whose build
// still runs are adopted, the others go back into the queue; containers of this work
// directory that no running build owns are removed.
func (s *supervisor) recover(ctx context.Context) {
	requeued, adopted, err := s.spool.Recover()
	if err != nil {
		s.log.Error("cannot recover the spool", "error", err.Error())
	}
	for _, name := range requeued {
		s.log.Info("requeued a job whose build was interrupted", "job", name)
	}
	for _, name := range adopted {
		s.adopt(name)
	}
	s.removeOrphanContainers(ctx)
}

// removeOrphanContainers removes every container labelled with this work directory whose
// build is not running. Without docker there is nothing to remove.
func (s *supervisor) removeOrphanContainers(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out strings.Builder
	if _, err := procexec.Run(ctx, procexec.Cmd{Argv: docker.ListArgs(s.layout.Root), Env: os.Environ(), Output: &out}); err != nil {
		s.log.Debug("not looking for orphan containers", "error", err.Error())
		return
	}
	adopted := map[string]bool{}
	for name := range s.builds {
		adopted[name] = true
	}
	for _, line := range strings.Split(out.String(), "\n") {
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
		if _, err := procexec.Run(ctx, procexec.Cmd{Argv: docker.RemoveArgs(name), Env: os.Environ()}); err != nil {
			s.log.Error("cannot remove an orphan container", "container", name, "error", err.Error())
			continue
		}
		s.log.Info("removed an orphan container", "container", name, "build", dir)
	}
}

// removeContainersOf removes the containers of a build that crashed and could not remove
// them itself: its run container, and what an interrupted docker build left.
func (s *supervisor) removeContainersOf(dir string, st *buildlog.Status) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out strings.Builder
	procexec.Run(ctx, procexec.Cmd{Argv: docker.BuildContainersArgs(dir), Env: os.Environ(), Output: &out})
	labels := docker.Labels{Workdir: s.layout.Root, Project: st.Project, Ref: st.Ref, Commit: st.Commit, Job: st.Job}
	procexec.Run(ctx, procexec.Cmd{Argv: docker.IntermediateArgs(labels), Env: os.Environ(), Output: &out})
	for _, id := range strings.Fields(out.String()) {
		if _, err := procexec.Run(ctx, procexec.Cmd{Argv: docker.RemoveArgs(id), Env: os.Environ()}); err == nil {
			s.log.Info("removed the container of a crashed build", "container", id, "build", dir)
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
	if err != nil || st.Result != buildlog.Running || st.PID <= 0 {
		return false
	}
	return syscall.Kill(st.PID, 0) == nil
}
