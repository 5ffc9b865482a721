package forgehttp

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/forge"
	"pipelined/internal/testenv"
)

// The token of every test: no log line, reason file or error may contain it.
const testToken = "tok-9f8e7d6c5b4a"

const testCommit = "0123456789abcdef0123456789abcdef01234567"

// gotRequest is a request a fake forge received.
type gotRequest struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   map[string]string
}

// fakeForge is an HTTP server that records the requests made to it and answers them as
// answer says (201 with {} when answer is nil). It stands in for GitHub and GitLab, which a
// test cannot run; checkStatusRequest holds each request against the forge's documented API.
type fakeForge struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []gotRequest
	answer func(n int, r *http.Request) (int, http.Header, string)
}

func newFakeForge(t *testing.T, answer func(n int, r *http.Request) (int, http.Header, string)) *fakeForge {
	f := &fakeForge{answer: answer}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		body := map[string]string{}
		json.Unmarshal(data, &body)
		f.mu.Lock()
		f.got = append(f.got, gotRequest{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), body})
		n := len(f.got)
		f.mu.Unlock()
		code, header, text := http.StatusCreated, http.Header{}, "{}"
		if f.answer != nil {
			code, header, text = f.answer(n, r)
		}
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(code)
		io.WriteString(w, text)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeForge) requests() []gotRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]gotRequest(nil), f.got...)
}

// site is a configuration with one project reporting to a forge at url, its token in a
// file, and an outbox.
type site struct {
	cfg    *config.Config
	outbox string
	token  string // the token file
	log    *testenv.Buffer
}

func newSite(t *testing.T, kind, url, extra string) *site {
	t.Helper()
	dir := t.TempDir()
	s := &site{outbox: filepath.Join(dir, "outbox"), token: filepath.Join(dir, "token"), log: &testenv.Buffer{}}
	if err := os.WriteFile(s.token, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	repo := "octo/app"
	if kind == config.ForgeGitLab {
		repo = "group/sub/app"
	}
	src := "[app]\nremote = https://example.org/" + repo + ".git\nforge = " + kind + "\nforge.url = " + url +
		"\nforge.repo = " + repo + "\nforge.token_file = " + s.token + "\nforge.target_url = https://ci.example.org/${BUILD_PROJECT}/${BUILD_SHORT_COMMIT}\n" + extra
	cfg, err := config.Parse(strings.NewReader(src), filepath.Join(dir, "c.ini"))
	if err != nil {
		t.Fatal(err)
	}
	s.cfg = cfg
	return s
}

func (s *site) project() *config.Project { return s.cfg.Projects[0] }

// enqueue writes a record of the project's commit.
func (s *site) enqueue(t *testing.T, state forge.State, description string, at time.Time) forge.Record {
	t.Helper()
	r, err := forge.NewRecord(s.project(), "refs/heads/main", testCommit, state, description, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := forge.Enqueue(s.outbox, r); err != nil {
		t.Fatal(err)
	}
	return r
}

// sender returns a Sender of the site with short waits, logging into s.log.
func (s *site) sender(o SenderOptions) *Sender {
	o.Outbox = s.outbox
	o.Config = func() *config.Config { return s.cfg }
	o.Log = slog.New(slog.NewTextHandler(s.log, nil))
	if o.Backoff == 0 {
		o.Backoff = 10 * time.Millisecond
	}
	return NewSender(o)
}

// waiting returns the names of the files in the outbox's new/ and bad/.
func (s *site) files(t *testing.T, sub string) []string {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(s.outbox, sub))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// checkNoToken fails if the token shows in the log or in any file of the outbox.
func (s *site) checkNoToken(t *testing.T) {
	t.Helper()
	if strings.Contains(s.log.String(), testToken) {
		t.Errorf("the log shows the token:\n%s", s.log)
	}
	filepath.Walk(s.outbox, func(path string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			if data, _ := os.ReadFile(path); strings.Contains(string(data), testToken) {
				t.Errorf("%s holds the token", path)
			}
		}
		return nil
	})
}
