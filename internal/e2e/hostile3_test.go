package e2e

import (
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"pipelined/internal/testenv"
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
