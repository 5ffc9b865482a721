package watch

import (
	"context"
	"sync"

	"pipelined/internal/config"
	"pipelined/internal/forgehttp"
	"pipelined/internal/git"
)

// pullErrors remembers the last error of each project's list of pull requests, so that a
// forge that fails every interval is logged once, and its recovery too.
type pullErrors struct {
	mu   sync.Mutex
	last map[string]string
}

// pullRequestRefs returns the heads of a project's open pull (merge) requests as refs to
// build, for a project with pull_requests (issue 20). They come from the forge's list of
// open requests, never from refs/pull/* on the remote: a forge keeps the refs of every
// request ever opened, and a thousand closed ones must not start a thousand builds.
func (w *Watcher) pullRequestRefs(ctx context.Context, p *config.Project) []git.Ref {
	if !p.PullRequests || p.Forge.Kind == "" {
		return nil
	}
	prs, err := forgehttp.OpenPullRequests(ctx, p, w.layout.PullsDir(), forgehttp.NewClient(w.o.Timeout))
	if ctx.Err() != nil {
		return nil
	}
	w.pullErrs.mu.Lock()
	defer w.pullErrs.mu.Unlock()
	if w.pullErrs.last == nil {
		w.pullErrs.last = map[string]string{}
	}
	last := w.pullErrs.last[p.Name]
	switch {
	case err != nil && err.Error() != last:
		w.log.Error("cannot list the open pull requests", "project", p.Name, "forge", p.Forge.Kind, "error", err.Error())
	case err == nil && last != "":
		w.log.Info("the forge lists the open pull requests again", "project", p.Name)
	}
	if err != nil {
		w.pullErrs.last[p.Name] = err.Error()
		return nil
	}
	w.pullErrs.last[p.Name] = ""
	refs := make([]git.Ref, 0, len(prs))
	for _, pr := range prs {
		refs = append(refs, git.Ref{Name: forgehttp.PullRef(p.Forge.Kind, pr.Number), Commit: pr.Head})
	}
	return refs
}
