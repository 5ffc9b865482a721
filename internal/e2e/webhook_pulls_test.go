package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/spool"
	"pipelined/internal/testenv"
)

// poster returns a function that posts body to a hook of the receiver at url for project,
// with headers in which SIGN stands for the body's HMAC-SHA256 signature with secret.
func poster(t *testing.T, url, secret string) func(id, project, body string, headers map[string]string) int {
	sign := func(body []byte) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		return hex.EncodeToString(m.Sum(nil))
	}
	return func(id, project, body string, headers map[string]string) int {
		req, _ := http.NewRequest("POST", url+id+"?project="+project, bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range headers {
			req.Header.Set(k, strings.ReplaceAll(v, "SIGN", sign([]byte(body))))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", id, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
}

// TestWebhookPullRequestEventsBecomeBuilds posts pull request events as GitHub and Gitea
// send them, and a merge request event as GitLab does, to the real receiver with the shipped
// hooks: an opened or pushed request is built at its head, with the same signature checks as
// pushes; a closed one, a wrong signature or a project without pull_requests queue nothing.
func TestWebhookPullRequestEventsBecomeBuilds(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	const secret = "0123456789abcdef-pulls-secret"
	s.writeConfig("[web]\nremote = %s\nwatch = False\nforge = github\nforge.url = http://127.0.0.1:1\nforge.repo = o/web\n"+
		"forge.token_env = PIPELINED_TEST_NONE\npull_requests = True\n\n[plain]\nremote = %s\nwatch = False\n", repo.Remote, repo.Remote)
	daemon := s.daemon("--interval", "0")
	hook, url := s.webhook(secret)
	post := poster(t, url, secret)
	pull := func(action string, n int, head string) string {
		return fmt.Sprintf(`{"action":%q,"number":%d,"pull_request":{"number":%d,"state":"open","head":{"sha":%q}}}`, action, n, n, head)
	}
	repo.Branch("feature")
	a := repo.Commit("a", nil)
	repo.PushRef(a, "refs/pull/7/head")
	b := repo.Commit("b", nil)
	repo.PushRef(b, "refs/pull/8/head")
	c := repo.Commit("c", nil)
	repo.PushRef(c, "refs/merge-requests/9/head")

	refused := []int{
		post("github-pull-request", "web", pull("opened", 7, a), map[string]string{"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": "sha256=00"}),
		post("gitea-pull-request", "web", pull("opened", 8, b), map[string]string{"X-Gitea-Event": "pull_request", "X-Gitea-Signature": "00"}),
	}
	for _, code := range refused {
		if code != http.StatusForbidden {
			t.Errorf("a wrong signature got HTTP %d, want 403", code)
		}
	}
	ok := []int{
		post("github-pull-request", "web", pull("closed", 7, a), map[string]string{"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": "sha256=SIGN"}),
		post("github-pull-request", "plain", pull("opened", 7, a), map[string]string{"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": "sha256=SIGN"}),
		// GitLab sends "update" for a closed merge request too (its title edited).
		post("gitlab-merge-request", "web", fmt.Sprintf(`{"object_kind":"merge_request","object_attributes":{"iid":9,"action":"update","state":"closed","last_commit":{"id":%q}}}`, c),
			map[string]string{"X-Gitlab-Event": "Merge Request Hook", "X-Gitlab-Token": secret}),
	}
	if ok[0] != http.StatusOK || ok[1] != http.StatusOK || ok[2] != http.StatusOK || len(s.queued())+len(s.jobsIn(spool.Cur))+len(s.finished()) != 0 {
		t.Fatalf("a closed request, or a project without pull_requests: HTTP %v, queued %v\n%s", ok, s.queued(), hook.stderr())
	}

	if code := post("github-pull-request", "web", pull("synchronize", 7, a), map[string]string{"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": "sha256=SIGN"}); code != http.StatusOK {
		t.Fatalf("GitHub pull request: HTTP %d\n%s", code, hook.stderr())
	}
	if code := post("gitea-pull-request", "web", pull("opened", 8, b), map[string]string{"X-Gitea-Event": "pull_request", "X-Gitea-Signature": "SIGN"}); code != http.StatusOK {
		t.Fatalf("Gitea pull request: HTTP %d", code)
	}
	mr := fmt.Sprintf(`{"object_kind":"merge_request","object_attributes":{"iid":9,"action":"open","state":"opened","last_commit":{"id":%q}}}`, c)
	if code := post("gitlab-merge-request", "web", mr, map[string]string{"X-Gitlab-Event": "Merge Request Hook", "X-Gitlab-Token": secret}); code != http.StatusOK {
		t.Fatalf("GitLab merge request: HTTP %d", code)
	}
	s.checkWebhookBuilds(map[string]string{"refs/pull/7/head": a, "refs/pull/8/head": b, "refs/merge-requests/9/head": c})
	hook.signal(syscall.SIGTERM)
	daemon.signal(syscall.SIGINT)
	daemon.wait(t, time.Minute)
}

// checkWebhookBuilds waits for a successful build of each ref at its commit, queued by the
// webhook.
func (s *site) checkWebhookBuilds(want map[string]string) {
	s.t.Helper()
	for ref, commit := range want {
		testenv.Eventually(s.t, time.Minute, ref+" was not built", func() bool { return s.hasBuild("web", ref, commit) })
	}
	for _, st := range s.finished() {
		if st.Result != "success" || st.Source != "webhook" {
			s.t.Errorf("%s: %s from %s (%s)", st.Ref, st.Result, st.Source, st.Reason)
		}
	}
}
