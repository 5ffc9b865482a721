package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/testenv"
)

// webhook starts the real webhook receiver with the shipped hooks file and script, and
// returns it with its URL prefix, http://127.0.0.1:PORT/hooks/.
func (s *site) webhook(secret string) (*process, string) {
	t := s.t
	t.Helper()
	testenv.Require(t, "webhook")
	root := testenv.ModuleRoot(t)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	hook := startProcessEnv(t, []string{
		"PIPELINED_WEBHOOK_SECRET=" + secret, "PIPELINED_CONFIG=" + s.config, "PIPELINED_WORKDIR=" + s.workdir,
		"PATH=" + filepath.Dir(bin.pipelined) + ":" + filepath.Join(root, "scripts", "webhook") + ":" + os.Getenv("PATH"),
	}, "webhook", "-hooks", filepath.Join(root, "scripts", "webhook", "hooks.json"), "-template",
		"-ip", "127.0.0.1", "-port", strconv.Itoa(port), "-verbose")
	testenv.Eventually(t, 30*time.Second, "webhook did not listen", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return hook, fmt.Sprintf("http://127.0.0.1:%d/hooks/", port)
}

// TestWebhookPollHook: a forge that can only call a URL asks for a poll of the project.
func TestWebhookPollHook(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	const secret = "0123456789abcdef-poll-secret"
	s.writeConfig("[web]\nremote = %s\nbranches = main\n", repo.Remote)
	daemon := s.daemon("--interval", "3600")
	waitFor(t, daemon, time.Minute, "main was not built at start", func() bool { return len(s.finished()) == 1 })
	hook, url := s.webhook(secret)
	get := func(query string) int {
		resp, err := http.Get(url + "poll?" + query)
		if err != nil {
			t.Fatalf("GET poll: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	next := repo.Commit("next", nil)
	repo.Push("main")
	if code := get("project=web&token=guess"); code != http.StatusForbidden {
		t.Errorf("a wrong token got HTTP %d, want 403", code)
	}
	if code := get("project=web&token=" + secret); code != http.StatusOK {
		t.Fatalf("the poll hook: HTTP %d\n%s", code, hook.stderr())
	}
	waitFor(t, daemon, time.Minute, "the polled commit was not built", func() bool { return s.hasBuild("web", "refs/heads/main", next) })
	hook.signal(syscall.SIGTERM)
	daemon.signal(syscall.SIGINT)
	daemon.wait(t, time.Minute)
}

// TestWebhookPushesBecomeBuilds runs the real webhook receiver (adnanh/webhook) with the
// shipped hooks file and script, and posts pushes as GitHub, Gitea and GitLab send them.
func TestWebhookPushesBecomeBuilds(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	const secret = "0123456789abcdef-webhook-secret"
	s.writeConfig("[web]\nremote = %s\nbranches = main\ntags = v.*\nwatch = False\n", repo.Remote)
	daemon := s.daemon("--interval", "0")

	hook, url := s.webhook(secret)

	sign := func(body []byte) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		return hex.EncodeToString(m.Sum(nil))
	}
	post := func(forge, ref, commit string, headers map[string]string) int {
		body := []byte(fmt.Sprintf(`{"ref":%q,"before":"%s","after":%q,"repository":{"name":"web"}}`, ref, repo.Head(), commit))
		req, _ := http.NewRequest("POST", url+forge+"?project=web", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range headers {
			req.Header.Set(k, strings.ReplaceAll(v, "SIGN", sign(body)))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", forge, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	github := func(sig string) map[string]string {
		if sig == "SIGN" {
			return map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=SIGN"}
		}
		return map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sig}
	}
	first := repo.Head()

	// Refused: a wrong signature, a wrong token. Nothing is queued.
	if code := post("github", "refs/heads/main", first, github(hex.EncodeToString(make([]byte, 32)))); code != http.StatusForbidden {
		t.Errorf("a wrong GitHub signature got HTTP %d, want 403", code)
	}
	if code := post("gitlab", "refs/heads/main", first, map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "guess"}); code != http.StatusForbidden {
		t.Errorf("a wrong GitLab token got HTTP %d, want 403", code)
	}
	if code := post("gitea", "refs/heads/main", first, map[string]string{"X-Gitea-Event": "push", "X-Gitea-Signature": "00"}); code != http.StatusForbidden {
		t.Errorf("a wrong Gitea signature got HTTP %d, want 403", code)
	}
	if n := len(s.finished()) + len(s.queued()); n != 0 {
		t.Fatalf("refused pushes queued or built %d jobs", n)
	}

	// GitHub: a push to main.
	if code := post("github", "refs/heads/main", first, github("SIGN")); code != http.StatusOK {
		t.Fatalf("GitHub push: HTTP %d\n%s", code, hook.stderr())
	}
	testenv.Eventually(t, time.Minute, "the GitHub push was not built", func() bool { return s.hasBuild("web", "refs/heads/main", first) })

	// Gitea: the next push to main.
	second := repo.Commit("second", nil)
	repo.Push("main")
	if code := post("gitea", "refs/heads/main", second, map[string]string{"X-Gitea-Event": "push", "X-Gitea-Signature": "SIGN"}); code != http.StatusOK {
		t.Fatalf("Gitea push: HTTP %d", code)
	}
	testenv.Eventually(t, time.Minute, "the Gitea push was not built", func() bool { return s.hasBuild("web", "refs/heads/main", second) })

	// GitLab: a tag.
	repo.Tag("v1.0")
	tag := testenv.Git(t, repo.Remote, "rev-parse", "refs/tags/v1.0")
	if code := post("gitlab", "refs/tags/v1.0", tag, map[string]string{"X-Gitlab-Event": "Tag Push Hook", "X-Gitlab-Token": secret}); code != http.StatusOK {
		t.Fatalf("GitLab tag push: HTTP %d", code)
	}
	testenv.Eventually(t, time.Minute, "the GitLab push was not built", func() bool { return s.hasBuild("web", "refs/tags/v1.0", tag) })

	// A push to a branch the project does not build: accepted, nothing queued.
	repo.Branch("feature")
	feature := repo.Commit("feature", nil)
	repo.Push("feature")
	if code := post("github", "refs/heads/feature", feature, github("SIGN")); code != http.StatusOK {
		t.Errorf("push to an unwatched branch: HTTP %d", code)
	}
	if n := len(s.finished()); n != 3 {
		t.Errorf("%d builds, want exactly the 3 pushes the project builds", n)
	}
	if q := s.queued(); len(q) != 0 {
		t.Errorf("jobs queued for an unwatched branch: %v", q)
	}
	for _, b := range s.finished() {
		if b.Source != "webhook" || b.Result != "success" {
			t.Errorf("%s %s: source %q, result %s", b.Ref, b.ShortCommit, b.Source, b.Result)
		}
	}
	hook.signal(syscall.SIGTERM)
	daemon.signal(syscall.SIGINT)
	daemon.wait(t, time.Minute)
}
