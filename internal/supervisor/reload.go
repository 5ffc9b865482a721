package supervisor

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fsnotify/fsnotify"

	"pipelined/internal/config"
)

// reloaded is the outcome of loading the configuration again.
type reloaded struct {
	why string
	cfg *config.Config // nil when the file is invalid
	err error
}

// reload loads the configuration again on a goroutine of its own: a large or hostile file
// delays nothing else (SPEC §8). Reloads asked for meanwhile make one more after it.
func (s *supervisor) reload(why string) {
	if s.reloading {
		s.reloadAgain = why
		return
	}
	s.reloading = true
	notify("RELOADING=1", monotonicUsec())
	go func() {
		cfg, err := config.Load(s.o.Config)
		if err == nil {
			if werr := s.writeSnapshot(cfg); werr != nil {
				cfg, err = nil, werr
			}
		}
		s.send(reloaded{why: why, cfg: cfg, err: err})
	}()
}

// onReloaded puts a reloaded configuration in force. An invalid file is reported, problem
// by problem, and the previous configuration stays in force; running and queued builds
// are not touched either way (SPEC §8).
func (s *supervisor) onReloaded(r reloaded) {
	s.reloading = false
	defer func() { notify("READY=1", s.status()) }()
	if r.err != nil {
		problems := config.Problems(r.err)
		for i, e := range problems {
			if i == maxProblemsLogged {
				s.log.Error("configuration not reloaded, keeping the previous one", "why", r.why,
					"problem", fmt.Sprintf("and %d more problems (pipelined --dump-config --config FILE lists them all)", len(problems)-i))
				break
			}
			s.log.Error("configuration not reloaded, keeping the previous one", "why", r.why, "problem", e.Error())
		}
	} else {
		s.warn(r.cfg)
		s.cfg.Store(r.cfg)
		s.hupWatcher()
		s.log.Info("configuration reloaded", "why", r.why, "projects", len(r.cfg.Projects))
		s.dispatch()
	}
	if why := s.reloadAgain; why != "" {
		s.reloadAgain = ""
		s.reload(why)
	}
}

// writeSnapshot writes cfg as the snapshot that pipeline-build and pipeline-watch read: a
// build started after an edit that broke the file still runs with the last good
// configuration. The snapshot holds env values, so only the daemon's user may read it.
func (s *supervisor) writeSnapshot(cfg *config.Config) error {
	var b bytes.Buffer
	if err := cfg.Dump(&b); err != nil {
		return err
	}
	path := s.layout.ConfigSnapshot()
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b.Bytes()) {
		return nil // unchanged: nothing to write (and a full disk does not stop a restart)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config.ini.*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b.Bytes())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	return err
}

// watchConfigFile reports changes of the configuration file. It watches the directory, as
// editors and deploy tools replace the file by a rename, and filters by name.
func watchConfigFile(ctx context.Context, path string) (<-chan struct{}, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := w.Add(filepath.Dir(abs)); err != nil {
		w.Close()
		return nil, err
	}
	changed := make(chan struct{}, 1)
	go func() {
		defer w.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Name == abs && (ev.Has(fsnotify.Write) || ev.Has(fsnotify.Create)) {
					select {
					case changed <- struct{}{}:
					default:
					}
				}
			case _, ok := <-w.Errors:
				if !ok {
					return
				}
			}
		}
	}()
	return changed, nil
}
