package forgehttp

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/config"
)

func sha(n int) string { return fmt.Sprintf("%040x", n) }

// githubPulls answers GET /repos/octo/app/pulls as GitHub does: open requests only (the
// query must ask for state=open), 100 a page with a Link to the next, an ETag per page, and
// 304 to a matching If-None-Match. A thousand closed requests exist beside them.
func githubPulls(t *testing.T, open int) func(int, *http.Request) (int, http.Header, string) {
	return func(_ int, r *http.Request) (int, http.Header, string) {
		q := r.URL.Query()
		if r.Method != "GET" || r.URL.Path != "/repos/octo/app/pulls" || q.Get("state") != "open" || q.Get("per_page") != "100" ||
			r.Header.Get("Authorization") != "Bearer "+testToken || r.Header.Get("Accept") != "application/vnd.github+json" {
			t.Errorf("not the documented list request: %s %s %v", r.Method, r.URL, r.Header)
			return 400, nil, `{"message":"bad"}`
		}
		page := 1
		fmt.Sscan(q.Get("page"), &page)
		etag := fmt.Sprintf(`"page-%d-of-%d"`, page, open)
		if r.Header.Get("If-None-Match") == etag {
			return 304, http.Header{"Etag": {etag}}, ""
		}
		var items []string
		for n := (page-1)*100 + 1; n <= min(page*100, open); n++ {
			items = append(items, fmt.Sprintf(`{"number":%d,"state":"open","head":{"sha":"%s","ref":"f%d"}}`, 2000+n, sha(n), n))
		}
		h := http.Header{"Etag": {etag}}
		if page*100 < open {
			h.Set("Link", fmt.Sprintf(`<https://elsewhere.example/x?page=%d>; rel="next", <https://elsewhere.example/x?page=9>; rel="last"`, page+1))
		}
		return 200, h, "[" + strings.Join(items, ",") + "]"
	}
}

func TestOpenPullRequestsAreListedWithConditionalRequests(t *testing.T) {
	f := newFakeForge(t, githubPulls(t, 150))
	s := newSite(t, config.ForgeGitHub, f.srv.URL, "pull_requests = True\n")
	cache := t.TempDir()
	for round := 1; round <= 2; round++ {
		prs, err := OpenPullRequests(context.Background(), s.project(), cache, http.DefaultClient)
		if err != nil {
			t.Fatal(err)
		}
		if len(prs) != 150 || prs[0] != (PullRequest{2001, sha(1)}) || prs[149] != (PullRequest{2150, sha(150)}) {
			t.Fatalf("round %d: %d requests, first %v", round, len(prs), prs[0])
		}
	}
	got := f.requests()
	if len(got) != 4 {
		t.Fatalf("%d requests, want two pages twice", len(got))
	}
	for _, r := range got[2:] {
		if r.Header.Get("If-None-Match") == "" {
			t.Errorf("the second round asked %s unconditionally", r.RawQuery)
		}
	}
	for _, r := range got {
		if strings.Contains(r.Path, "elsewhere") {
			t.Error("a Link's address was followed")
		}
	}
}

func TestClosedRequestsAreNeverListed(t *testing.T) {
	f := newFakeForge(t, func(int, *http.Request) (int, http.Header, string) {
		// A forge that ignored state=open: closed requests in the answer are still left out.
		var items []string
		for n := 1; n <= 1000; n++ {
			items = append(items, fmt.Sprintf(`{"iid":%d,"state":"closed","sha":"%s"}`, n, sha(n)))
		}
		items = append(items, fmt.Sprintf(`{"iid":1001,"state":"opened","sha":"%s"}`, sha(1001)), `{"iid":1002,"state":"opened","sha":"not a commit"}`)
		return 200, nil, "[" + strings.Join(items, ",") + "]"
	})
	s := newSite(t, config.ForgeGitLab, f.srv.URL, "pull_requests = True\n")
	prs, err := OpenPullRequests(context.Background(), s.project(), t.TempDir(), http.DefaultClient)
	if err != nil || len(prs) != 1 || prs[0] != (PullRequest{1001, sha(1001)}) {
		t.Fatalf("got %v, %v; want merge request 1001 alone", prs, err)
	}
	r := f.requests()[0]
	if r.Path != "/api/v4/projects/group%2Fsub%2Fapp/merge_requests" || !strings.Contains(r.RawQuery, "state=opened") || r.Header.Get("PRIVATE-TOKEN") != testToken {
		t.Errorf("not the documented request: %s?%s", r.Path, r.RawQuery)
	}
	if PullRef(config.ForgeGitLab, 7) != "refs/merge-requests/7/head" || PullRef(config.ForgeGitea, 7) != "refs/pull/7/head" {
		t.Error("PullRef")
	}
}

func TestAListThatFailsSaysWhy(t *testing.T) {
	f := newFakeForge(t, func(int, *http.Request) (int, http.Header, string) {
		return 401, nil, `{"message":"Bad credentials"}`
	})
	s := newSite(t, config.ForgeGitHub, f.srv.URL, "pull_requests = True\n")
	_, err := OpenPullRequests(context.Background(), s.project(), t.TempDir(), http.DefaultClient)
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "Bad credentials") || strings.Contains(err.Error(), testToken) {
		t.Errorf("err = %v", err)
	}
	f2 := newFakeForge(t, func(int, *http.Request) (int, http.Header, string) { return 200, nil, `{"not":"a list"}` })
	s2 := newSite(t, config.ForgeGitea, f2.srv.URL, "pull_requests = True\n")
	if _, err := OpenPullRequests(context.Background(), s2.project(), t.TempDir(), http.DefaultClient); err == nil {
		t.Error("an answer that is no list was taken")
	}
}

// A FIFO planted where the cache is read or its temporary file written would block a plain
// open for ever, and the watcher with it: the list is asked afresh and the cache written.
func TestFIFOsInThePullsCacheHangNothing(t *testing.T) {
	f := newFakeForge(t, githubPulls(t, 3))
	s := newSite(t, config.ForgeGitHub, f.srv.URL, "pull_requests = True\n")
	cache := t.TempDir()
	path := filepath.Join(cache, s.project().Name+".json")
	for _, fifo := range []string{path, path + ".tmp"} {
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := OpenPullRequests(context.Background(), s.project(), cache, http.DefaultClient)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a FIFO in the cache blocked the list")
	}
	if info, err := os.Lstat(path); err != nil || !info.Mode().IsRegular() {
		t.Errorf("the cache was not written: %v", err)
	}
}
