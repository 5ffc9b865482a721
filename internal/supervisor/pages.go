package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"pipelined/internal/atomicfile"
	"pipelined/internal/buildlog"
	"pipelined/internal/engine"
	"pipelined/internal/git"
	"pipelined/internal/outcome"
	"pipelined/internal/page"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// pageWriter writes the status pages (package page) and the engines' state for `pipelined
// status`, off the loop: it reads every build.json. Requests made while it writes make one
// more pass after it.
type pageWriter struct {
	layout  workdir.Layout
	jobs    *outcome.Jobs
	log     *slog.Logger
	wake    chan struct{}
	mu      sync.Mutex
	engines []engine.State // nil until published
}

func newPageWriter(layout workdir.Layout, jobs *outcome.Jobs, log *slog.Logger) *pageWriter {
	return &pageWriter{layout: layout, jobs: jobs, log: log, wake: make(chan struct{}, 1)}
}

// refresh asks for the pages to be written again: at start-up, and when a build starts or
// ends.
func (w *pageWriter) refresh() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// publish makes the engines' state the one written next.
func (w *pageWriter) publish(states []engine.State) {
	w.mu.Lock()
	w.engines = states
	w.mu.Unlock()
	w.refresh()
}

// pageDelay is how long the page writer waits after a request before it writes.
const pageDelay = 500 * time.Millisecond

func (w *pageWriter) run(ctx context.Context) {
	var lastErr string
	retries := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		}
		// A build that just started writes its build.json a moment later; waiting a little
		// also makes one pass of a burst of requests.
		select {
		case <-ctx.Done():
			return
		case <-time.After(pageDelay):
		}
		err := errors.Join(page.Write(w.layout, w.jobs, time.Now()), w.writeEngines())
		// A build that has no build.json yet (pipeline-build may ask the remote for the
		// ref's commit first) is not on the pages, which would then neither show it nor
		// reload until it ends: look again shortly, for a while.
		if retries < unshownRetries && w.unshown() {
			retries++
			time.AfterFunc(pageDelay, w.refresh)
		} else {
			retries = 0
		}
		// Between builds the daemon only waits: hand back what reading every record took.
		debug.FreeOSMemory()
		switch {
		case err != nil && err.Error() != lastErr:
			w.log.Warn("cannot write the status pages", "error", err.Error())
			lastErr = err.Error()
		case err == nil:
			lastErr = ""
		}
	}
}

// unshownRetries bounds the passes made for builds that have no build.json yet (a minute).
const unshownRetries = 60

// unshown reports whether a job the daemon claimed has no build.json of this claim yet:
// its pipeline-build is starting (or has just ended without one, which the daemon settles
// at once).
func (w *pageWriter) unshown() bool {
	claimed, _ := w.jobs.Spool().List(spool.Cur)
	for _, e := range claimed {
		j, err := w.jobs.Read(spool.Cur, e.Name)
		if err != nil {
			continue
		}
		if dir, _ := buildlog.LatestOfJob(w.layout.RefDir(j.Project, j.Ref), e.Name, w.jobs.ClaimedAt(e.Name)); dir == "" {
			return true
		}
	}
	return false
}

// writeEngines writes the engines' state for `pipelined status`, whole or not at all.
func (w *pageWriter) writeEngines() error {
	w.mu.Lock()
	states := w.engines
	w.mu.Unlock()
	if states == nil {
		return nil
	}
	masked := make([]engine.State, len(states))
	for i, st := range states {
		st.Host = git.MaskURL(st.Host)
		masked[i] = st
	}
	data, err := json.MarshalIndent(masked, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(w.layout.EnginesState(), append(data, '\n'), 0o666)
}
