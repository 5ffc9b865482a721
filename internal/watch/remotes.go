package watch

import (
	"pipelined/internal/config"
	"pipelined/internal/git"
	"pipelined/internal/polling"
)

// requested returns the remotes a poll request asks for: those of the projects named by the
// files in the work directory's poll directory (which it removes), or, without any, every
// remote.
func (w *Watcher) requested(remotes map[string]*remote, urls []string) []string {
	due, named := requestedRemotes(remotes, urls, polling.TakePollRequests(w.layout))
	for i, url := range due {
		w.log.Info("polling now", "project", named[i], "remote", git.MaskURL(url))
	}
	if len(due) == 0 {
		// No request, or only for projects that are gone: a poll was asked for all the same.
		w.log.Info("polling every remote now", "remotes", len(urls))
		return urls
	}
	return due
}

// requestedRemotes returns the remotes of urls, in their order, that watch a project of
// named, each with the first such project; none when named has no project of them.
func requestedRemotes(remotes map[string]*remote, urls []string, named map[string]bool) (due, projects []string) {
	for _, url := range urls {
		for _, p := range remotes[url].projects {
			if named[p.Name] {
				due, projects = append(due, url), append(projects, p.Name)
				break
			}
		}
	}
	return due, projects
}

// remote is one remote URL and the projects that watch it: one ls-remote serves them all.
type remote struct {
	url      string
	projects []*config.Project
}

// remotes groups the watched projects of the watcher by remote URL (see groupRemotes).
func (w *Watcher) remotes() (byURL map[string]*remote, urls []string) {
	return groupRemotes(w.cfg, w.o.Projects)
}

// groupRemotes is polling.Remotes with the watcher's own type of remote.
func groupRemotes(cfg *config.Config, only []string) (byURL map[string]*remote, urls []string) {
	projects, urls := polling.Remotes(cfg, only)
	byURL = make(map[string]*remote, len(projects))
	for url, ps := range projects {
		byURL[url] = &remote{url: url, projects: ps}
	}
	return byURL, urls
}
