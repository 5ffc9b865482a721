package supervisor

import (
	"context"
	"errors"
	"runtime/debug"
	"strings"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/docker"
	"pipelined/internal/engine"
	"pipelined/internal/env"
	"pipelined/internal/procexec"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// claimedJob is a job a previous daemon claimed (it is in spool/cur/), as recovery found
// it: its build still runs and is adopted, or its outcome is decided from the records.
type claimedJob struct {
	name    string
	job     spool.Job
	running bool // a build holds the job: adopt it
	status  *buildlog.Status
	ended   ended // when not running
	bad     string
}

// recovered is what recovery reports to the main loop.
type recovered struct{ jobs []claimedJob }

// recover sorts out, on a goroutine of its own, what a previous daemon left (SPEC §5, §8):
// the claimed jobs (adopted if their build runs, else decided like any build whose process
// is gone), then every build.json that says running for a process that is gone. The
// containers no running build owns are removed as each engine comes up (cleanEngine).
func (s *supervisor) recover() {
	var jobs []claimedJob
	entries, err := s.spool.List(spool.Cur)
	if err != nil {
		s.log.Error("cannot list spool/cur/", "error", err.Error())
	}
	for _, e := range entries {
		jobs = append(jobs, s.recoverJob(e.Name))
	}
	s.send(recovered{jobs: jobs})
	s.markDeadBuilds()
}

// cleanEngine removes, off the main loop, the orphan containers on an engine that has just
// come up: at start, and after it was down (a build it failed may have left one). It waits
// for recovery, which says which builds run.
func (s *supervisor) cleanEngine(e engine.Engine) {
	running := map[string]bool{}
	for name := range s.builds {
		running[name] = true
	}
	go s.removeOrphanContainers(s.bgCtx, e, running)
}

// recoverJob looks at one claimed job.
func (s *supervisor) recoverJob(name string) claimedJob {
	c := claimedJob{name: name}
	path := s.spool.Path(spool.Cur, name)
	job, err := s.spool.Read(spool.Cur, name)
	var rej *spool.RejectError
	if errors.As(err, &rej) {
		c.bad = rej.Reason
		return c
	}
	if err != nil {
		c.bad = "cannot be read: " + err.Error()
		return c
	}
	c.job = job
	if spool.Locked(path) {
		c.running = true
		_, c.status = findBuild(s.layout, job, name)
		return c
	}
	c.ended = s.settle(&build{name: name, job: job}, spool.Ending{})
	return c
}

// markDeadBuilds marks failed every build.json that says running while its process is
// gone: a build run by hand and killed, or a build whose job recovery has already dealt
// with. None stays "running" for ever (SPEC §5.1).
func (s *supervisor) markDeadBuilds() {
	builds, err := s.layout.Builds()
	if err != nil {
		return
	}
	for _, b := range builds {
		path := workdir.StatusPath(b.Dir)
		st, err := buildlog.LoadStatus(path)
		if err != nil || st.Result != buildlog.Running || st.Alive() {
			continue
		}
		killGroups(st.Groups)
		procexec.KillByEnv(env.BuildRunPath, b.Dir)
		st.Groups = nil
		st.Result, st.Finished = buildlog.Failed, time.Now().UTC()
		st.Reason = "pipeline-build (pid " + itoa(st.PID) + ") died before it recorded a result; found at start-up"
		if err := st.Save(path); err == nil {
			s.log.Warn("marked a dead build failed", "dir", b.Dir, "reason", st.Reason)
		}
	}
}

// onRecovered adopts the builds that still run and settles the jobs of the others.
func (s *supervisor) onRecovered(r recovered) {
	for _, c := range r.jobs {
		switch {
		case c.bad != "":
			if dest, err := s.spool.Reject(spool.Cur, c.name, c.bad); err == nil {
				s.log.Warn("rejected a claimed job file", "job", c.name, "reason", c.bad, "moved_to", dest)
			}
		case c.running:
			s.adopt(c.name, c.job, c.status)
		default:
			s.settleJob(c.name, c.job, c.ended, "", 0)
		}
	}
	s.recovering = false
	s.refreshPages()
	debug.FreeOSMemory() // start-up (configuration, recovery) is over
	for _, st := range s.pool.States() {
		if st.Up {
			s.cleanEngine(st.Engine)
		}
	}
	s.log.Info("recovered the spool", "claimed", len(r.jobs), "running", len(s.builds))
}

// usesDocker reports whether the project builds images (so its builds may leave
// containers); an unknown project may have.
func (s *supervisor) usesDocker(project string) bool {
	p := s.config().Project(project)
	return p == nil || p.Build
}

// anyDocker reports whether any project builds images: without one, pipelined never asks
// the Docker engine anything, and a hung or missing engine costs nothing.
func (s *supervisor) anyDocker() bool {
	for _, p := range s.config().Projects {
		if p.Build {
			return true
		}
	}
	return false
}

// removeOrphanContainers removes every container on an engine labelled with this work
// directory whose build is not running.
func (s *supervisor) removeOrphanContainers(ctx context.Context, e engine.Engine, adopted map[string]bool) {
	out, err := docker.Run(ctx, e.Host, docker.ListArgs(s.layout.Root))
	if err != nil {
		s.log.Warn("not looking for orphan containers: the Docker engine did not answer", "engine", e.Name, "error", err.Error())
		return
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
			s.log.Error("cannot remove an orphan container", "engine", e.Name, "container", name, "error", err.Error())
			continue
		}
		s.log.Info("removed an orphan container", "engine", e.Name, "container", name, "build", dir)
	}
}

// removeContainersOf removes the containers of a build that died and could not remove
// them itself: its run container, and what an interrupted docker build left.
func (s *supervisor) removeContainersOf(ctx context.Context, dir string, st *buildlog.Status) {
	ids, err := docker.Run(ctx, st.DockerHost, docker.BuildContainersArgs(dir))
	if err != nil {
		return
	}
	labels := docker.Labels{Workdir: s.layout.Root, Project: st.Project, Ref: st.Ref, Commit: st.JobCommit(), Job: st.Job}
	intermediate, _ := docker.Run(ctx, st.DockerHost, docker.IntermediateArgs(labels))
	seen := map[string]bool{}
	for _, id := range strings.Fields(ids + " " + intermediate) {
		if seen[id] {
			continue // a run container carries the image's labels too
		}
		seen[id] = true
		if _, err := docker.Run(ctx, st.DockerHost, docker.RemoveWithVolumesArgs(id)); err == nil {
			s.log.Info("removed the container of a dead build", "container", id, "build", dir)
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
