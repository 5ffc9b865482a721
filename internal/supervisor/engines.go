package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"pipelined/internal/docker"
	"pipelined/internal/engine"
	"pipelined/internal/git"
)

// The Docker engines builds run on (package engine). The pool is the main loop's; an engine
// is asked `docker version` (bounded) on a goroutine, first when a project needs Docker, and
// again with back-off while it does not answer. A build whose engine failed it marks the
// engine down the same way.

// engineProbed reports what one `docker version` said.
type engineProbed struct {
	name string
	err  error
}

// engineProbeTimeout bounds one `docker version`.
const engineProbeTimeout = 15 * time.Second

// engineRetryMax caps the back-off between two probes of an engine that does not answer.
const engineRetryMax = time.Minute

// probeEngines asks every engine not yet asked, once some project builds images: without
// one, pipelined never talks to Docker at all.
func (s *supervisor) probeEngines() {
	if s.probed || !s.anyDocker() {
		return
	}
	s.probed = true
	for _, e := range s.pool.Engines() {
		s.probe(e, 0)
	}
}

// probe asks an engine for its version after delay, on a goroutine of its own.
func (s *supervisor) probe(e engine.Engine, delay time.Duration) {
	go func() {
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-s.done:
				return
			}
		}
		s.send(engineProbed{name: e.Name, err: askEngine(context.Background(), e.Host)})
	}()
}

// askEngine asks an engine whether it answers (docker version), for at most
// engineProbeTimeout, and says why not in docker's words or as a missing answer.
func askEngine(parent context.Context, host string) error {
	ctx, cancel := context.WithTimeout(parent, engineProbeTimeout)
	defer cancel()
	out, err := docker.Run(ctx, host, docker.VersionArgs())
	switch {
	case err == nil || parent.Err() != nil:
		return err
	case ctx.Err() != nil:
		return fmt.Errorf("no answer to docker version within %v", engineProbeTimeout)
	case strings.TrimSpace(out) != "":
		return errors.New(lastLine(strings.TrimSpace(out)))
	}
	return err
}

// onEngineProbed puts an engine in or out of the pool, and asks again, with back-off, one
// that did not answer.
func (s *supervisor) onEngineProbed(ev engineProbed) {
	e, _ := s.pool.Get(ev.name)
	if ev.err == nil {
		if s.pool.SetUp(ev.name, true, "", time.Now()) {
			s.log.Info("Docker engine answers: in the pool", "engine", ev.name, "host", git.MaskURL(e.Host), "slots", e.Slots)
			if !s.recovering {
				s.cleanEngine(e)
			}
		}
		delete(s.engineBackoff, ev.name)
		s.publishEngines()
		s.dispatch()
		return
	}
	delay := min(2*s.engineBackoff[ev.name], engineRetryMax)
	if delay == 0 {
		delay = time.Second
	}
	s.engineBackoff[ev.name] = delay
	if s.pool.SetUp(ev.name, false, ev.err.Error(), time.Now()) || delay == time.Second {
		s.log.Warn("Docker engine does not answer: out of the pool, asking again with back-off", "engine", ev.name,
			"host", git.MaskURL(e.Host), "error", ev.err.Error(), "retry_in", delay.String())
	}
	s.publishEngines()
	s.probe(e, delay)
	s.dispatch() // it has answered once now, if only with a failure: the others may be picked
}

// engineFailed takes an engine a build reported down out of the pool, and asks it again.
func (s *supervisor) engineFailed(name, why string) {
	e, ok := s.pool.Get(name)
	if !ok {
		return
	}
	if s.pool.SetUp(name, false, why, time.Now()) {
		s.log.Warn("Docker engine failed a build: out of the pool until it answers", "engine", name, "host", git.MaskURL(e.Host))
		s.publishEngines()
		s.probe(e, time.Second)
	}
}

// publishEngines makes the pool's state readable by `pipelined status`: the page writer
// writes it to .pipelined/engines.json.
func (s *supervisor) publishEngines() {
	states := s.pool.States()
	s.engineStates.Store(&states)
	s.refreshPages()
}

// writeEngines writes the engines' state for `pipelined status`, whole or not at all.
func (s *supervisor) writeEngines() error {
	states := s.engineStates.Load()
	if states == nil {
		return nil
	}
	masked := make([]engine.State, len(*states))
	for i, st := range *states {
		st.Host = git.MaskURL(st.Host)
		masked[i] = st
	}
	data, err := json.MarshalIndent(masked, "", "  ")
	if err != nil {
		return err
	}
	path := s.layout.EnginesState()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".engines.*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	return err
}

// engineCheckEvery: while builds run on an engine, it is asked this often whether it still
// answers. A docker command of a build has no bound of its own, and an engine that hangs
// (a host gone from the network) would hold its builds for ever.
const engineCheckEvery = 30 * time.Second

// engineChecked reports a check of an engine that builds run on.
type engineChecked struct {
	name string
	err  error
}

// armEngineChecks starts the checks of the engines in use, unless they run already.
func (s *supervisor) armEngineChecks() {
	if s.engineCheck == nil {
		s.engineCheck = time.NewTimer(engineCheckEvery)
	}
}

// checkEngines asks every engine that builds run on whether it still answers, off the main
// loop, and keeps checking while builds run on one.
func (s *supervisor) checkEngines() {
	s.engineCheck = nil
	inUse := false
	for _, st := range s.pool.States() {
		if st.InUse == 0 || !st.Up {
			continue
		}
		inUse = true
		e := st.Engine
		go func() {
			err := askEngine(s.bgCtx, e.Host)
			if s.bgCtx.Err() != nil {
				return // the daemon is ending: no answer is the daemon's own doing
			}
			s.send(engineChecked{name: e.Name, err: err})
		}()
	}
	if inUse {
		s.armEngineChecks()
	}
}

// onEngineChecked takes an engine that stopped answering out of the pool and stops the
// builds on it, whose jobs are retried elsewhere (an interrupt marker says why).
func (s *supervisor) onEngineChecked(ev engineChecked) {
	if ev.err == nil {
		return
	}
	reason := "the Docker engine " + ev.name + " stopped answering: " + ev.err.Error()
	s.engineFailed(ev.name, reason)
	for _, b := range s.builds {
		if b.engine != ev.name || b.withdrawn {
			continue
		}
		if err := s.spool.Interrupt(b.name, reason); err != nil {
			continue
		}
		s.log.Warn("stopping a build on an engine that stopped answering; its job is retried", "project", b.job.Project,
			"ref", b.job.Ref, "job", b.name, "engine", ev.name)
		if b.cancel != nil {
			b.cancel()
		} else {
			s.stopAdopted(b)
		}
	}
}
