package forgehttp

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/forge"
	"pipelined/internal/refname"
)

// userAgent names pipelined to the forge (GitHub refuses requests without one).
const userAgent = "pipelined"

// maxTargetURL is the longest target_url GitLab takes (gitlab-org/gitlab#501079); a longer
// one is left out rather than cut into a broken link.
const maxTargetURL = 255

// statusRequest builds the request that sets the record's status on the forge of f
// (GitHub: POST /repos/OWNER/REPO/statuses/SHA; Gitea: the same below /api/v1; GitLab:
// POST /api/v4/projects/ID/statuses/SHA), with the token in the forge's own header.
func statusRequest(ctx context.Context, f config.Forge, r forge.Record, token string) (*http.Request, error) {
	state, err := forge.ForgeState(f.Kind, r.State)
	if err != nil {
		return nil, err
	}
	body := map[string]string{"state": state, "description": forge.Cut(r.Description, forge.DescriptionLimit(f.Kind))}
	if r.TargetURL != "" && (f.Kind != config.ForgeGitLab || len(r.TargetURL) <= maxTargetURL) {
		body["target_url"] = r.TargetURL
	}
	var endpoint string
	switch f.Kind {
	case config.ForgeGitLab:
		endpoint = f.URL + "/api/v4/projects/" + url.PathEscape(f.Repo) + "/statuses/" + r.Commit
		body["name"] = r.Context
		if refname.IsBranch(r.Ref) || refname.IsTag(r.Ref) {
			body["ref"] = refname.ShortName(r.Ref)
		}
	case config.ForgeGitea:
		endpoint = f.URL + "/api/v1/repos/" + repoPath(f.Repo) + "/statuses/" + r.Commit
		body["context"] = r.Context
	default:
		endpoint = f.URL + "/repos/" + repoPath(f.Repo) + "/statuses/" + r.Commit
		body["context"] = r.Context
	}
	data, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	authorize(req, f.Kind, token)
	return req, nil
}

// authorize sets the forge's headers: its token header, and what GitHub asks every client
// to send (its media type and API version).
func authorize(req *http.Request, kind, token string) {
	req.Header.Set("User-Agent", userAgent)
	switch kind {
	case config.ForgeGitHub:
		req.Header.Set("Accept", "application/vnd.github+json")
		req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
		req.Header.Set("Authorization", "Bearer "+token)
	case config.ForgeGitea:
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Authorization", "token "+token)
	case config.ForgeGitLab:
		req.Header.Set("Accept", "application/json")
		req.Header.Set("PRIVATE-TOKEN", token)
	}
}

// repoPath is owner/name with each part escaped for a URL path.
func repoPath(repo string) string {
	owner, name, _ := strings.Cut(repo, "/")
	return url.PathEscape(owner) + "/" + url.PathEscape(name)
}

// forgeMessage is the forge's own explanation in an error answer: GitHub and Gitea send
// {"message": …} (GitHub with "errors"), GitLab {"message": …} or {"error": …}. It never
// holds the token: the token is cut out should a forge echo it.
func forgeMessage(body []byte, token string) string {
	var m struct {
		Message any `json:"message"`
		Error   any `json:"error"`
		Errors  any `json:"errors"`
	}
	msg := ""
	if json.Unmarshal(body, &m) == nil {
		for _, v := range []any{m.Message, m.Error, m.Errors} {
			if v == nil {
				continue
			}
			s, ok := v.(string)
			if !ok {
				b, _ := json.Marshal(v)
				s = string(b)
			}
			if msg != "" {
				msg += "; "
			}
			msg += s
		}
	}
	if msg == "" {
		msg = string(body)
	}
	if token != "" {
		msg = strings.ReplaceAll(msg, token, "***")
	}
	return forge.Clip(msg)
}

// noRedirects makes a client return a redirect as the answer rather than follow it: a
// forge's API answers where it is asked, and a token header (GitLab's PRIVATE-TOKEN is no
// Authorization, which Go drops on a redirect to another host) must never follow a
// redirect elsewhere.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// NewClient is the HTTP client for a forge's API: bounded by timeout, connection included,
// following no redirect.
func NewClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, CheckRedirect: noRedirects}
}
