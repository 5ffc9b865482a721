package forgehttp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"pipelined/internal/atomicfile"
	"pipelined/internal/config"
	"pipelined/internal/forge"
	"pipelined/internal/refname"
	"pipelined/internal/safeopen"
)

// PullRequest is an open pull (merge) request: its number and head commit.
type PullRequest struct {
	Number int    `json:"number"`
	Head   string `json:"head"`
}

// Bounds of the list: 50 pages of 50 to 100 requests, each page at most 8 MiB.
const (
	maxPages    = 50
	maxPageSize = 8 << 20
)

// PullRef is the head ref of request n on a forge of kind: refs/merge-requests/N/head on
// GitLab, refs/pull/N/head elsewhere.
func PullRef(kind string, n int) string {
	if kind == config.ForgeGitLab {
		return fmt.Sprintf("%s%d/head", refname.MergeRequestPrefix, n)
	}
	return fmt.Sprintf("%s%d/head", refname.PullPrefix, n)
}

// page is one page of the list as last answered, kept for conditional requests.
type page struct {
	ETag     string        `json:"etag,omitempty"`
	Requests []PullRequest `json:"requests"`
	Next     bool          `json:"next"` // the forge said there is a page after it
}

// pullsCache is a project's last list, per page.
type pullsCache struct {
	Endpoint string `json:"endpoint"` // the list's address: a changed forge.url or repo starts afresh
	Pages    []page `json:"pages"`
}

// OpenPullRequests asks the forge of p for its open requests: only the forge's list of open
// ones says which to build, as a forge keeps the refs of closed requests. Every page is a
// conditional request with the ETag the forge last sent for it (cached in cacheDir): an
// unchanged page answers 304, which GitHub does not count against the rate limit.
func OpenPullRequests(ctx context.Context, p *config.Project, cacheDir string, client *http.Client) ([]PullRequest, error) {
	token, err := forge.Token(p.Forge)
	if err != nil {
		return nil, err
	}
	endpoint, pageParam := pullsEndpoint(p.Forge)
	cachePath := filepath.Join(cacheDir, p.Name+".json")
	var cache pullsCache
	// A FIFO planted in the cache's place would block a plain read for ever.
	if data, err := safeopen.ReadFile(cachePath, maxPages*maxPageSize); err != nil || json.Unmarshal(data, &cache) != nil || cache.Endpoint != endpoint {
		cache = pullsCache{Endpoint: endpoint}
	}
	fresh := pullsCache{Endpoint: endpoint}
	var open []PullRequest
	for n := 1; ; n++ {
		if n > maxPages {
			return nil, fmt.Errorf("the forge lists more than %d pages of open pull requests", maxPages)
		}
		var cached *page
		if n <= len(cache.Pages) {
			cached = &cache.Pages[n-1]
		}
		pg, err := fetchPage(ctx, client, p.Forge, endpoint+pageParam+strconv.Itoa(n), token, cached)
		if err != nil {
			return nil, err
		}
		fresh.Pages = append(fresh.Pages, pg)
		open = append(open, pg.Requests...)
		if !pg.Next {
			break
		}
	}
	if data, err := json.Marshal(fresh); err == nil {
		writeAtomic(cachePath, data) // a cache: losing it costs one full request
	}
	return open, nil
}

// pullsEndpoint is the list of open requests, less its page number.
func pullsEndpoint(f config.Forge) (endpoint, pageParam string) {
	switch f.Kind {
	case config.ForgeGitLab:
		return f.URL + "/api/v4/projects/" + url.PathEscape(f.Repo) + "/merge_requests?state=opened&per_page=100", "&page="
	case config.ForgeGitea:
		return f.URL + "/api/v1/repos/" + repoPath(f.Repo) + "/pulls?state=open&limit=50", "&page="
	}
	return f.URL + "/repos/" + repoPath(f.Repo) + "/pulls?state=open&per_page=100", "&page="
}

// fetchPage asks for one page, conditionally when it was seen before.
func fetchPage(ctx context.Context, client *http.Client, f config.Forge, u, token string, cached *page) (page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return page{}, err
	}
	authorize(req, f.Kind, token)
	if cached != nil && cached.ETag != "" {
		req.Header.Set("If-None-Match", cached.ETag)
	}
	resp, err := client.Do(req)
	if err != nil {
		return page{}, fmt.Errorf("listing the open pull requests: %s", forge.Clip(err.Error()))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && cached != nil {
		return *cached, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPageSize+1))
	switch {
	case err != nil:
		return page{}, fmt.Errorf("listing the open pull requests: %v", err)
	case resp.StatusCode != http.StatusOK:
		return page{}, fmt.Errorf("listing the open pull requests: %s: %s", strings.ReplaceAll(resp.Status, token, "***"), forgeMessage(body, token))
	case len(body) > maxPageSize:
		return page{}, fmt.Errorf("listing the open pull requests: a page larger than %d MiB", maxPageSize>>20)
	}
	reqs, err := parsePage(f.Kind, body)
	if err != nil {
		return page{}, err
	}
	return page{ETag: resp.Header.Get("ETag"), Requests: reqs, Next: hasNext(resp.Header)}, nil
}

// parsePage reads a page: GitHub and Gitea list {number, state, head: {sha}}, GitLab
// {iid, state, sha}. Only open requests with a valid head are kept.
func parsePage(kind string, body []byte) ([]PullRequest, error) {
	var items []struct {
		Number int    `json:"number"`
		IID    int    `json:"iid"`
		State  string `json:"state"`
		SHA    string `json:"sha"`
		Head   struct {
			SHA string `json:"sha"`
		} `json:"head"`
	}
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, fmt.Errorf("listing the open pull requests: the forge's answer is not a list of them: %s", forge.Clip(err.Error()))
	}
	var out []PullRequest
	for _, it := range items {
		pr := PullRequest{Number: it.Number, Head: it.Head.SHA}
		open := it.State == "open"
		if kind == config.ForgeGitLab {
			pr = PullRequest{Number: it.IID, Head: it.SHA}
			open = it.State == "opened"
		}
		if open && pr.Number > 0 && refname.ValidCommit(pr.Head) && refname.CheckRef(PullRef(kind, pr.Number)) == nil {
			out = append(out, pr)
		}
	}
	return out, nil
}

// hasNext reads a Link header for a next page. The page after is asked by number, never at
// the address the header gives, so that the token only goes where forge.url says.
func hasNext(h http.Header) bool {
	for _, link := range h.Values("Link") {
		for _, part := range strings.Split(link, ",") {
			if strings.Contains(part, `rel="next"`) {
				return true
			}
		}
	}
	return h.Get("X-Next-Page") != "" // GitLab, also without Link
}

// writeAtomic writes a file whole or not at all, making its directory.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		return err
	}
	return atomicfile.Write(path, data, 0o666)
}
