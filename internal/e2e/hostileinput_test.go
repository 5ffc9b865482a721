package e2e

// Hostile input shown to people: very long subjects and lines in mail, credentials in
// reasons, a huge commit subject, a flooding log in an open page, a chat webhook that
// redirects (issues 20 and 21).

import (
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/outcome"
	"pipelined/internal/page"
	"pipelined/internal/spool"
	"pipelined/internal/testenv"
	"pipelined/internal/workdir"
)

// TestMailOfAVeryLongSubjectAndLineArrives: a commit subject of 2000 characters and a
// failing command whose last line is 3000 (a minified bundle's error, say) still reach the
// mailbox through a real MTA, which refuses lines longer than SMTP's 998.
func TestMailOfAVeryLongSubjectAndLineArrives(t *testing.T) {
	s := newSite(t)
	m := startMTA(t, s)
	repo := testenv.NewRepo(t, nil)
	subject := strings.Repeat("long subject é ", 140)
	repo.Commit(subject, map[string]string{"f": "1"})
	repo.Push("main")
	notify := filepath.Join(testenv.ModuleRoot(t), "scripts", "notify")
	fail := s.file("fail.sh", "#!/bin/sh\nprintf 'x%.0s' $(seq 3000)\necho\nexit 1\n", 0o755)
	s.writeConfig(`[mailed]
remote = %[1]s
branches = main
env = NOTIFY_SENDMAIL=%[2]s
prepare_callback = %[3]s
error_callback = %[4]s/mail ops@example.com
`, repo.Remote, m.sendmail, fail, notify)
	if res := s.build("mailed", "main"); res.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", res.code, res.stderr)
	}
	msg := m.messages(t, 1)[0]
	var dec mime.WordDecoder
	title, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	// build.json keeps the subject's first 1000 bytes.
	if err != nil || !strings.Contains(title, subject[:900]) {
		t.Errorf("Subject %q (%v)", title, err)
	}
	body := mailBody(t, msg)
	if !strings.Contains(body, strings.Repeat("x", 3000)) {
		t.Errorf("the failing line is not in the mail:\n%s", body)
	}
}

// fakeForgeStatuses is a local forge API that accepts every status and keeps their bodies.
func fakeForgeStatuses(t *testing.T) (url string, bodies func() []string) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(data))
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "{}")
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

// TestASkippedBuildShowsNoRemoteCredentials: a commit that is not on the remote skips the
// build, and the reason (which names the remote) reaches build.json, the status page and
// the forge's description: the remote's password must not.
func TestASkippedBuildShowsNoRemoteCredentials(t *testing.T) {
	s := newSite(t)
	root, _, _ := httpsRepo(t)
	ca := testenv.NewCA(t)
	srv := testenv.ServeGitHTTPS(t, ca, root, testenv.HTTPSGitOptions{User: "bot", Password: "s3cretpw"})
	forgeURL, statuses := fakeForgeStatuses(t)
	token := s.file("token", "tok-123456\n", 0o600)
	entries, _ := os.ReadDir(root)
	remote := strings.Replace(srv.URL, "https://", "https://bot:s3cretpw@", 1) + "/" + entries[0].Name()
	s.writeConfig(`[app]
remote = %s
branches = main
forge = github
forge.url = %s
forge.repo = octo/app
forge.token_file = %s
`, remote, forgeURL, token)
	missing := strings.Repeat("e", 40)
	res := run(t, testenv.IsolatedGitEnv(t, "", "GIT_SSL_CAINFO="+ca.File), bin.build,
		"--config", s.config, "--workdir", s.workdir, "app", "refs/heads/main", missing)
	dir := s.onlyBuild("app")
	st := status(t, dir)
	if st.Result != "skipped" {
		t.Fatalf("result %q (%s), want skipped\n%s", st.Result, st.Reason, res.stderr)
	}
	places := map[string]string{"build.json": readFile(t, filepath.Join(dir, "build.json")),
		"stderr": res.stderr, "forge": strings.Join(statuses(), "\n")}
	if page, err := os.ReadFile(filepath.Join(dir, "index.html")); err == nil {
		places["page"] = string(page)
	}
	for where, text := range places {
		if strings.Contains(text, "s3cretpw") {
			t.Errorf("%s shows the remote's password:\n%s", where, text)
		}
	}
	if !strings.Contains(places["forge"], "not in the clone") {
		t.Errorf("the forge did not get the skip: %q", places["forge"])
	}
}

// TestAHugeCommitSubjectKeepsBuildJSONReadable: a commit whose subject line is 17 MiB (git
// allows it; a pull request from a fork can carry it) still gives a build.json that every
// reader can load, with the subject cut short.
func TestAHugeCommitSubjectKeepsBuildJSONReadable(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	msg := s.file("msg", strings.Repeat("subject ", 17<<17)+"\n", 0o644)
	testenv.Git(t, repo.Work, "commit", "-q", "--allow-empty", "-F", msg)
	repo.Push("main")
	s.writeConfig("[app]\nremote = %s\nbranches = main\n", repo.Remote)
	if res := s.build("app", "main"); res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	st := status(t, s.onlyBuild("app"))
	if len(st.Subject) > 4<<10 || !strings.HasPrefix(st.Subject, "subject subject") {
		t.Errorf("subject of %d bytes: %.100q", len(st.Subject), st.Subject)
	}
}

// TestAnUnreachableRemoteShowsNoCredentials: a remote with a password that does not answer
// is an infrastructure error whose reason reaches build.json, the summary and the forge.
func TestAnUnreachableRemoteShowsNoCredentials(t *testing.T) {
	s := newSite(t)
	forgeURL, statuses := fakeForgeStatuses(t)
	token := s.file("token", "tok-123456\n", 0o600)
	s.writeConfig(`[app]
remote = https://bot:s3cretpw@127.0.0.1:1/app.git
branches = main
forge = github
forge.url = %s
forge.repo = octo/app
forge.token_file = %s
`, forgeURL, token)
	res := s.build("app", "refs/heads/main", strings.Repeat("e", 40))
	places := map[string]string{"stderr": res.stderr, "stdout": res.stdout, "forge": strings.Join(statuses(), "\n")}
	filepath.Walk(s.workdir, func(path string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			places[path] = readFile(t, path)
		}
		return nil
	})
	for where, text := range places {
		if strings.Contains(text, "s3cretpw") {
			t.Errorf("%s shows the remote's password:\n%s", where, text)
		}
	}
	if !strings.Contains(places["forge"], "failure") {
		t.Errorf("the forge did not get the failure: %s\n%s", places["forge"], res.stderr)
	}
}

// TestABuildPageFollowsAFloodingLogBounded: a running build that prints 40 MB after its page
// was written (a verbose test suite) does not pour all of it into an open page: the page
// keeps a bounded end of the log, the newest lines included.
func TestABuildPageFollowsAFloodingLogBounded(t *testing.T) {
	s := newSite(t)
	layout := workdir.Layout{Root: s.workdir}
	commit := strings.Repeat("a", 40)
	dir := filepath.Join(layout.RefDir("app", "refs/heads/main"), commit[:8]+workdir.TmpSuffix)
	os.MkdirAll(dir, 0o755)
	os.WriteFile(workdir.LogPath(dir), []byte("$ make test\n"), 0o644)
	st := &buildlog.Status{Project: "app", Ref: "refs/heads/main", Commit: commit, ShortCommit: commit[:8], Path: dir,
		Result: outcome.Running, Started: time.Now(), PID: os.Getpid()}
	if err := st.Save(workdir.StatusPath(dir)); err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(layout.SpoolDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := page.Write(layout, outcome.NewJobs(sp), time.Now()); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(workdir.LogPath(dir), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("ok  a verbose test line ", 3) + "\n"
	flood := strings.Repeat(line, (40<<20)/len(line))
	f.WriteString(flood + "END-OF-FLOOD\n")
	f.Close()
	web := startNginx(t, s)
	rel, _ := filepath.Rel(s.workdir, dir)
	parts := strings.Split(filepath.ToSlash(rel), "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	dom := dumpDOM(t, web.base+"/"+strings.Join(parts, "/")+"/index.html", 6*time.Second, "")
	if !strings.Contains(dom, "END-OF-FLOOD") {
		t.Errorf("the page does not show the log's end (%d bytes of DOM)", len(dom))
	}
	if len(dom) > 8<<20 {
		t.Errorf("the page holds %d MB of the log", len(dom)>>20)
	}
}

// TestAChatWebhookThatRedirectsIsNoDelivery: a webhook URL that answers 301 (moved to
// https, say) posted nothing; the callback says so in the log, without the address (which
// holds the secret path), and does not follow it.
func TestAChatWebhookThatRedirectsIsNoDelivery(t *testing.T) {
	testenv.Require(t, "curl")
	s := newSite(t)
	chat := startChatReceiver(t)
	moved := httptest.NewServer(http.RedirectHandler(chat.url+"/hooks/s3cr3t-h00k", http.StatusMovedPermanently))
	t.Cleanup(moved.Close)
	repo := testenv.NewRepo(t, nil)
	notify := filepath.Join(testenv.ModuleRoot(t), "scripts", "notify")
	s.writeConfig(`[chatted]
remote = %s
branches = main
env = NOTIFY_WEBHOOK_URL=%s/hooks/s3cr3t-h00k
prepare_callback = /bin/false
error_callback = %s/chat
`, repo.Remote, moved.URL, notify)
	if res := s.build("chatted", "main"); res.code != 1 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	log := readFile(t, filepath.Join(s.onlyBuild("chatted"), "build.log"))
	if !strings.Contains(log, "answered HTTP 301") || strings.Contains(log, "s3cr3t-h00k") {
		t.Errorf("build.log does not say the post was redirected, or shows the URL:\n%s", log)
	}
	chat.mu.Lock()
	defer chat.mu.Unlock()
	if len(chat.posts) != 0 {
		t.Errorf("the redirect was followed: %q", chat.posts)
	}
}
