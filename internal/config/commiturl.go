package config

import (
	"fmt"
	"net/url"
	"strings"

	"pipelined/internal/env"
)

// CommitURLVariables are the names commit_url may use: what identifies a commit, and never
// a value of env or env_file, nor the remote (which may carry credentials): the link is on
// a page anyone with access to the work directory's web server reads.
var CommitURLVariables = []string{env.BuildProject, env.BuildRef, env.BuildRefName, env.BuildCommit, env.BuildShortCommit}

// checkCommitURL validates a commit_url template when the file loads.
func checkCommitURL(text string) string {
	if text == "" {
		return ""
	}
	if lower := strings.ToLower(text); !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		return fmt.Sprintf("%q must start with http:// or https://", text)
	}
	_, err := env.Expand(text, func(name string) (string, bool) { return "", isCommitURLVariable(name) })
	if err != nil {
		return fmt.Sprintf("%v; commit_url may use $%s", err, strings.Join(CommitURLVariables, ", $"))
	}
	return ""
}

func isCommitURLVariable(name string) bool {
	for _, v := range CommitURLVariables {
		if v == name {
			return true
		}
	}
	return false
}

// CommitLink is the link of a build's commit on the status pages, or "" when the project
// has none: commit_url with the variables of vars (CommitURLVariables) filled in, each
// escaped as a URL path ("/" kept, so that BUILD_REF_NAME feature/x reads as a path);
// without commit_url, the commit's page on the forge the project reports to (forgeLink).
//
// This is the one place a commit's link is made.
func (p *Project) CommitLink(vars map[string]string) string {
	if p.CommitURL == "" {
		return forgeLink(p.Forge, vars[env.BuildCommit])
	}
	link, err := env.Expand(p.CommitURL, func(name string) (string, bool) {
		v, ok := vars[name]
		if !ok || !isCommitURLVariable(name) {
			return "", false
		}
		return escapePath(v), true
	})
	if err != nil {
		return ""
	}
	return link
}

// forgeLink is a commit's page on the forge f, or "" when its web address is not known:
// GitHub's is its API base without api. (github.com) or /api/v3 (GitHub Enterprise); Gitea's
// and GitLab's is forge.url. A GitLab project named by its number has no path to link.
func forgeLink(f Forge, commit string) string {
	if commit == "" || f.Repo == "" {
		return ""
	}
	switch f.Kind {
	case ForgeGitHub:
		web := ""
		if f.URL == GitHubAPI {
			web = "https://github.com"
		} else if base, ok := strings.CutSuffix(f.URL, "/api/v3"); ok {
			web = base
		}
		if web == "" {
			return ""
		}
		return web + "/" + escapePath(f.Repo) + "/commit/" + url.PathEscape(commit)
	case ForgeGitea:
		return f.URL + "/" + escapePath(f.Repo) + "/commit/" + url.PathEscape(commit)
	case ForgeGitLab:
		if gitlabNumber.MatchString(f.Repo) {
			return ""
		}
		return f.URL + "/" + escapePath(f.Repo) + "/-/commit/" + url.PathEscape(commit)
	}
	return ""
}

// escapePath escapes each "/"-separated part of s as a URL path segment.
func escapePath(s string) string {
	parts := strings.Split(s, "/")
	for i, part := range parts {
		parts[i] = url.PathEscape(part)
	}
	return strings.Join(parts, "/")
}
