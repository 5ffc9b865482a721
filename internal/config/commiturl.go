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
// escaped as a URL path ("/" kept, so that BUILD_REF_NAME feature/x reads as a path).
//
// This is the one place a commit's link is made: a forge configured for the project (its
// web URL and repository) can supply the link here when commit_url is empty.
func (p *Project) CommitLink(vars map[string]string) string {
	if p.CommitURL == "" {
		return ""
	}
	link, err := env.Expand(p.CommitURL, func(name string) (string, bool) {
		v, ok := vars[name]
		if !ok || !isCommitURLVariable(name) {
			return "", false
		}
		parts := strings.Split(v, "/")
		for i, part := range parts {
			parts[i] = url.PathEscape(part)
		}
		return strings.Join(parts, "/"), true
	})
	if err != nil {
		return ""
	}
	return link
}
