package supervisor

import (
	"bytes"
	"context"
	"os"
	"path/filepath"

	"github.com/fsnotify/fsnotify"

	"pipelined/internal/config"
)

// reload loads the configuration again. An invalid file is reported, problem by problem,
// and the previous configuration stays in force; running and queued builds are not
// touched either way (SPEC §8).
func (s *supervisor) reload(why string) {
	notify("RELOADING=1", monotonicUsec())
	defer func() { notify("READY=1", s.status()) }()
	cfg, err := config.Load(s.o.Config)
	if err != nil {
		for _, e := range unjoin(err) {
			s.log.Error("configuration not reloaded, keeping the previous one", "why", why, "problem", e.Error())
		}
		return
	}
	s.warn(cfg)
	if err := s.setConfig(cfg); err != nil {
		s.log.Error("configuration not reloaded, keeping the previous one", "why", why, "error", err.Error())
		return
	}
	s.hupWatcher()
	s.log.Info("configuration reloaded", "why", why, "projects", len(cfg.Projects))
	s.dispatch()
}

// setConfig makes cfg the configuration in force and writes it as the snapshot that
// pipeline-build and pipeline-watch read: a build started after an edit that broke the
// file still runs with the last good configuration. The snapshot holds env values, so
// only the daemon's user may read it.
func (s *supervisor) setConfig(cfg *config.Config) error {
	var b bytes.Buffer
	if err := cfg.Dump(&b); err != nil {
		return err
	}
	path := s.layout.ConfigSnapshot()
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
	if err != nil {
		return err
	}
	s.cfg = cfg
	return nil
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

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
