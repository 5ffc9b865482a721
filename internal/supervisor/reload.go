package supervisor

import (
	"bytes"
	"context"
	"os"
	"path/filepath"

	"github.com/fsnotify/fsnotify"

	"pipelined/internal/atomicfile"
	"pipelined/internal/config"
	"pipelined/internal/safeopen"
	"pipelined/internal/workdir"
)

// reload loads the configuration again and writes its snapshot, off the loop: a large or
// hostile file delays nothing else (SPEC §8).
func (r *runtime) reload(why string) Reloaded {
	cfg, src, err := config.LoadSource(r.o.Config)
	if err != nil {
		return Reloaded{Why: why, Err: err}
	}
	changed, err := writeSnapshot(r.layout, src, r.o.Config)
	if err != nil {
		return Reloaded{Why: why, Err: err}
	}
	return Reloaded{Why: why, Cfg: cfg, Unchanged: !changed}
}

// writeSnapshot writes the snapshot that pipeline-build and pipeline-watch read — a copy of
// the configuration file whose text is src (config.Snapshot) — and reports whether it
// changed: a build started after an edit that broke the file still runs with the last good
// configuration. The snapshot holds env values, so only the daemon's user may read it.
func writeSnapshot(layout workdir.Layout, src []byte, configPath string) (bool, error) {
	snap := config.Snapshot(src, configPath)
	path := layout.ConfigSnapshot()
	// Read as safeopen does: a FIFO planted here would block a plain read for ever; anything
	// but a regular file of the snapshot's size differs, and the write below replaces it.
	if old, err := safeopen.ReadFile(path, int64(len(snap))); err == nil && bytes.Equal(old, snap) {
		return false, nil // unchanged: nothing to write (and a full disk does not stop a restart)
	}
	if err := atomicfile.Write(path, snap, 0o600); err != nil {
		return false, err
	}
	return true, os.Chmod(path, 0o600) // a umask never widens it, but an older file may be wider
}

// watchConfigFile reports changes of the configuration file. It watches the directory, as
// editors and deploy tools replace the file by a rename, and filters by name.
func (r *runtime) watchConfigFile(path string) (<-chan struct{}, error) {
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
	r.group.Go(func(ctx context.Context) {
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
	})
	return changed, nil
}
