package supervisor

import (
	"fmt"
	"log/slog"
	"time"

	"pipelined/internal/config"
)

// configState is the reloading of the configuration: a reload runs off the loop, and
// reloads asked for meanwhile make one more after it.
type configState struct {
	reloading     bool
	again         string    // why another reload is due once this one ends
	debounceUntil time.Time // the configuration file changed: reload then
}

// reload loads the configuration again. A large or hostile file delays nothing else.
func (m *Machine) reload(why string) {
	c := &m.conf
	if c.reloading {
		c.again = why
		return
	}
	c.reloading = true
	m.emit(Notify{State: []string{"RELOADING=1"}})
	m.emit(Reload{Why: why})
}

// onReloaded puts a reloaded configuration in force. An invalid file is reported, problem
// by problem, and the previous configuration stays in force; running and queued builds are
// not touched either way (SPEC §8). A reload that finds what is in force says nothing: an
// edit and the SIGHUP after it are one reload.
func (m *Machine) onReloaded(ev Reloaded) {
	c := &m.conf
	c.reloading = false
	switch {
	case ev.Err != nil:
		problems := config.Problems(ev.Err)
		for i, e := range problems {
			if i == maxProblemsLogged {
				m.logError("configuration not reloaded, keeping the previous one", "why", ev.Why,
					"problem", fmt.Sprintf("and %d more problems (pipelined --dump-config --config FILE lists them all)", len(problems)-i))
				break
			}
			m.logError("configuration not reloaded, keeping the previous one", "why", ev.Why, "problem", e.Error())
		}
	case ev.Unchanged:
		m.emit(Log{Level: slog.LevelDebug, Msg: "configuration unchanged", Attrs: []any{"why", ev.Why}})
	default:
		m.warn(ev.Cfg)
		m.cfg = newProjectSet(ev.Cfg)
		m.poll.configure(ev.Cfg, m.now, m.set.Interval > 0)
		m.logInfo("configuration reloaded", "why", ev.Why, "projects", len(ev.Cfg.Projects))
		m.dispatch()
		m.startPasses()
	}
	m.emit(Notify{State: []string{"READY=1", m.statusLine()}})
	if why := c.again; why != "" {
		c.again = ""
		m.reload(why)
	}
}
