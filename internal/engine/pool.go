package engine

import "time"

// State is an engine as the pool sees it.
type State struct {
	Engine
	Asked bool      `json:"asked"`           // it answered or failed at least once
	Up    bool      `json:"up"`              // it answered its last `docker version`
	InUse int       `json:"in_use"`          // builds running on it
	Since time.Time `json:"since"`           // when Up last changed
	Error string    `json:"error,omitempty"` // why it is down
}

// Pool is the engines and their state. It is not safe for concurrent use: the supervisor's
// main loop owns it.
type Pool struct {
	states []*State
}

// NewPool returns a pool of engines, all down until they have answered.
func NewPool(engines []Engine, now time.Time) *Pool {
	p := &Pool{}
	for _, e := range engines {
		p.states = append(p.states, &State{Engine: e, Since: now, Error: "not asked yet"})
	}
	return p
}

// Engines lists the pool's engines.
func (p *Pool) Engines() []Engine {
	out := make([]Engine, len(p.states))
	for i, s := range p.states {
		out[i] = s.Engine
	}
	return out
}

// Get returns the engine named name.
func (p *Pool) Get(name string) (Engine, bool) {
	if s := p.state(name); s != nil {
		return s.Engine, true
	}
	return Engine{}, false
}

func (p *Pool) state(name string) *State {
	for _, s := range p.states {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Pick returns the engine a build should run on among allowed (all when empty): one that
// is up, with a free slot, the one with the most free slots (the first listed of equals).
// It does not take the slot.
//
// Until every engine it may use has answered (or failed) once, it picks none: builds go
// where there is most room, not to whichever engine answered first. Engines the build may
// not use do not hold it up.
func (p *Pool) Pick(allowed []string) (Engine, bool) {
	var best *State
	for _, s := range p.states {
		if !s.Asked && (len(allowed) == 0 || contains(allowed, s.Name)) {
			return Engine{}, false
		}
	}
	for _, s := range p.states {
		if !s.Up || s.InUse >= s.Slots || (len(allowed) > 0 && !contains(allowed, s.Name)) {
			continue
		}
		if best == nil || s.Slots-s.InUse > best.Slots-best.InUse {
			best = s
		}
	}
	if best == nil {
		return Engine{}, false
	}
	return best.Engine, true
}

// Known reports whether any of names is an engine of the pool (all when names is empty).
func (p *Pool) Known(names []string) bool {
	if len(names) == 0 {
		return len(p.states) > 0
	}
	for _, n := range names {
		if p.state(n) != nil {
			return true
		}
	}
	return false
}

// Take and Release count a build starting on, and leaving, an engine.
func (p *Pool) Take(name string) {
	if s := p.state(name); s != nil {
		s.InUse++
	}
}

func (p *Pool) Release(name string) {
	if s := p.state(name); s != nil && s.InUse > 0 {
		s.InUse--
	}
}

// SetUp records whether an engine answered, and why not; it reports whether that changed.
func (p *Pool) SetUp(name string, up bool, why string, now time.Time) bool {
	s := p.state(name)
	if s == nil {
		return false
	}
	changed := s.Up != up || !s.Asked
	if changed {
		s.Since = now
	}
	s.Up, s.Error, s.Asked = up, why, true
	if up {
		s.Error = ""
	}
	return changed
}

// States is a copy of every engine's state, for `pipelined status`.
func (p *Pool) States() []State {
	out := make([]State, len(p.states))
	for i, s := range p.states {
		out[i] = *s
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Clone returns an independent copy, for planning.
func (p *Pool) Clone() *Pool {
	c := &Pool{}
	for _, s := range p.states {
		copied := *s
		c.states = append(c.states, &copied)
	}
	return c
}
