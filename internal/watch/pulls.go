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
// request ever opened, and a thousand closed ones must not start a thousand builds. listed
// is false when the project has pull requests that could not be listed.
func (w *Watcher) pullRequestRefs(ctx context.Context, p *config.Project) (refs []git.Ref, listed bool) {
	if !p.PullRequests || p.Forge.Kind == "" {
		return nil, true
	}
	prs, err := forgehttp.OpenPullRequests(ctx, p, w.layout.PullsDir(), forgehttp.NewClient(w.o.Timeout))
	if ctx.Err() != nil {
		return nil, false
	}
	switch w.pullErrs.note(p.Name, err) {
	case remoteFails:
		w.log.Error("cannot list the open pull requests", "project", p.Name, "forge", p.Forge.Kind, "error", err.Error())
	case remoteAnswersAgain:
		w.log.Info("the forge lists the open pull requests again", "project", p.Name)
	}
	if err != nil {
		return nil, false
	}
	return pullRefs(p.Forge.Kind, prs), true
}

// note remembers how a project's list of pull requests ended, and says what is new:
// remoteFails for an error other than the last (logged), remoteAnswersAgain for a list
// after an error (logged), remoteAnswers or remoteFailsAgain otherwise (not logged).
func (e *pullErrors) note(project string, err error) remoteNews {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.last == nil {
		e.last = map[string]string{}
	}
	last := e.last[project]
	if err == nil {
		e.last[project] = ""
		if last != "" {
			return remoteAnswersAgain
		}
		return remoteAnswers
	}
	e.last[project] = err.Error()
	if err.Error() == last {
		return remoteFailsAgain
	}
	return remoteFails
}

// pullRefs are the head refs of a forge's open requests, each at its head commit.
func pullRefs(kind string, prs []forgehttp.PullRequest) []git.Ref {
	refs := make([]git.Ref, 0, len(prs))
	for _, pr := range prs {
		refs = append(refs, git.Ref{Name: forgehttp.PullRef(kind, pr.Number), Commit: pr.Head})
	}
	return refs
}
