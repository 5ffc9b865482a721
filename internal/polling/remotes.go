package polling

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/refname"
	"pipelined/internal/workdir"
)

// Defaults of a pass (pipeline-watch's flags).
const (
	DefaultConcurrency = 8
	DefaultTimeout     = 30 * time.Second
)

// Remotes groups the enabled, watched projects by remote URL, restricted to only when it
// is not empty; urls lists the remotes in the order of the configuration. One ls-remote of
// a URL serves every project that watches it.
func Remotes(cfg *config.Config, only []string) (byURL map[string][]*config.Project, urls []string) {
	byURL = map[string][]*config.Project{}
	for _, p := range cfg.Projects {
		if NotPolled(p) != "" {
			continue
		}
		if len(only) > 0 && !slices.Contains(only, p.Name) {
			continue
		}
		if byURL[p.Remote] == nil {
			urls = append(urls, p.Remote)
		}
		byURL[p.Remote] = append(byURL[p.Remote], p)
	}
	return byURL, urls
}

// RemoteProjects lists the remotes that are polled, in the order of the configuration, and
// for each the names of the projects that watch it.
func RemoteProjects(cfg *config.Config) (urls []string, projects map[string][]string) {
	byURL, urls := Remotes(cfg, nil)
	projects = make(map[string][]string, len(byURL))
	for url, ps := range byURL {
		for _, p := range ps {
			projects[url] = append(projects[url], p.Name)
		}
	}
	return urls, projects
}

// NotPolled says why the watcher does not poll a project's remote, or "" when it does.
func NotPolled(p *config.Project) string {
	switch {
	case !p.Enabled:
		return "enabled = False"
	case !p.Watch:
		return "watch = False"
	case p.Branches == nil && p.Tags == nil && !p.PullRequests:
		return "neither branches nor tags is set"
	}
	return ""
}

// Wanted reports whether the project builds the ref: its name must fully match the
// project's branches or tags regex, or, for a pull request's head, pull_requests be True.
func Wanted(p *config.Project, ref string) bool {
	switch {
	case refname.IsBranch(ref):
		return p.Branches != nil && p.Branches.MatchString(refname.ShortName(ref))
	case refname.IsTag(ref):
		return p.Tags != nil && p.Tags.MatchString(refname.ShortName(ref))
	case refname.IsPullRequest(ref):
		return p.PullRequests
	}
	return false
}

// TakePollRequests reads and removes the poll requests of the work directory: the
// projects `pipelined poll PROJECT` named. Whatever else is there (a directory, a name that
// is no project name) is removed too.
func TakePollRequests(layout workdir.Layout) map[string]bool {
	dir := layout.PollRequests()
	entries, _ := os.ReadDir(dir)
	named := map[string]bool{}
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
		if e.Type().IsRegular() && workdir.ValidProjectName(e.Name()) {
			named[e.Name()] = true
		}
	}
	return named
}

// Key names a remote without its URL, which may hold a password: how a pass tells the
// daemon that it is done with a remote (pipeline-watch --done-fd).
func Key(url string) string {
	sum := sha256.Sum256([]byte(url))
	return hex.EncodeToString(sum[:12])
}
