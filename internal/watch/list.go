package watch

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"

	"pipelined/internal/git"
	"pipelined/internal/smarthttp"
)

// list returns the branches and tags of a remote: an http(s) remote in-process when git's
// configuration leaves it alone (SPEC §6), through git ls-remote otherwise. Each is bounded
// by the watcher's Timeout, and git gets all of it, so that its error (which names the
// timeout) is the same at every poll and logged once: a remote that does not answer costs
// one Timeout; one that answers slowly and then in a way left to git (almost always a
// status line, at once) may cost two.
func (w *Watcher) list(ctx context.Context, url string, env []string) ([]git.Ref, []string, error) {
	if smarthttp.Handles(url) {
		out, err := w.https.client(w.o).List(ctx, url, env, w.o.Timeout)
		if err == nil {
			refs, problems := git.ParseLsRemote(out)
			return refs, problems, nil
		}
		if !errors.Is(err, smarthttp.ErrUseGit) {
			return nil, nil, err
		}
		w.log.Debug("listing through git", "remote", git.MaskURL(url), "reason", err.Error())
	}
	return git.LsRemote(ctx, url, env, w.o.Timeout)
}

// httpsPass holds the in-process lister of the current pass. A pass of pipeline-watch
// --once is the whole run; a resident watcher starts a new one (reading git's
// configuration again) once the last is an interval old, and after a reload.
type httpsPass struct {
	mu      sync.Mutex
	current *smarthttp.Client
	started time.Time
}

func (p *httpsPass) client(o Options) *smarthttp.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.current != nil && (o.Once || time.Since(p.started) < o.Interval) {
		return p.current
	}
	if p.current != nil {
		p.current.Close()
	}
	p.current, p.started = smarthttp.New(git.SafeEnv(os.Environ())), time.Now()
	return p.current
}

// end closes the pass's kept connections; the next listing starts a new pass.
func (p *httpsPass) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.current != nil {
		p.current.Close()
		p.current = nil
	}
}
