package supervisor

import (
	"pipelined/internal/config"
	"pipelined/internal/forge"
)

// projectSet is what the daemon keeps of the configuration: of each project, what its
// decisions read — a hundred bytes, not the kilobyte of a config.Project — so that 10,000
// projects cost an idle daemon about a megabyte. The executors and the programs the daemon
// starts read the configuration's snapshot themselves.
type projectSet struct {
	byName    map[string]*projectView
	anyDocker bool // some project builds images: only then is the Docker engine asked
	anyForge  bool // some project reports to a forge: only then are statuses delivered
}

// projectView is one project as the daemon's decisions see it.
type projectView struct {
	Name                                                string
	Engines                                             string // the engines key, as written
	Enabled, Build, Serialize, Supersede, Interruptible bool
	Limit, KeepBuilds, KeepDays                         config.Count
	// reports is the whole project, kept only for one that reports to a forge: the daemon
	// writes its statuses between builds (a retry, bad/).
	reports *config.Project
}

func newProjectSet(cfg *config.Config) *projectSet {
	s := &projectSet{byName: make(map[string]*projectView, len(cfg.Projects))}
	for _, p := range cfg.Projects {
		v := &projectView{Name: p.Name, Engines: p.Engines, Enabled: p.Enabled, Build: p.Build, Serialize: p.Serialize,
			Supersede: p.Supersede, Interruptible: p.Interruptible, Limit: p.Limit, KeepBuilds: p.KeepBuilds, KeepDays: p.KeepDays}
		if forge.Reports(p) {
			v.reports = p
			s.anyForge = true
		}
		s.anyDocker = s.anyDocker || p.Build
		s.byName[p.Name] = v
	}
	return s
}

// Project returns the project named name, or nil.
func (s *projectSet) Project(name string) *projectView { return s.byName[name] }

// EngineNames lists the engines the project's builds may use; none means any.
func (p *projectView) EngineNames() []string {
	return (&config.Project{Engines: p.Engines}).EngineNames()
}
