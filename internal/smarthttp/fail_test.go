package smarthttp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"pipelined/internal/git"
	"pipelined/internal/procexec"
	"pipelined/internal/testenv"
)

// fakeServer answers with handler over TLS with a certificate of ca: a stand-in for the
// broken and hostile servers whose answers the lister must refuse.
func fakeServer(t *testing.T, ca *testenv.CA, handler http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(handler)
	srv.TLS = ca.ServerConfig(t)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

// answer is a handler that answers info/refs with an advertisement and ls-refs with refs.
func answer(advert, refs string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.Header().Set("Content-Type", resultType)
			fmt.Fprint(w, refs)
			return
		}
		w.Header().Set("Content-Type", advertType)
		fmt.Fprint(w, advert)
	}
}

// v2Advert is the shortest v2 capability advertisement.
var v2Advert = pkts("version 2\n", "ls-refs\n", "0000")

// status answers with code and header (name, value, …) and no body.
func status(code int, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
	}
}

// refusedAnswers are answers the lister leaves to git: handler, userinfo of the URL, reason.
var refusedAnswers = []struct {
	name    string
	handler http.HandlerFunc
	user    string
	why     string
}{
	{"redirect", status(http.StatusMovedPermanently, "Location", "https://example.com/"), "", "redirected (HTTP 301)"},
	{"not found", status(http.StatusNotFound), "", "HTTP 404"},
	{"credentials asked, none in the URL", status(http.StatusUnauthorized, "WWW-Authenticate", `Basic realm="x"`), "", "HTTP 401"},
	{"a scheme other than Basic", status(http.StatusUnauthorized, "WWW-Authenticate", "Negotiate"), "u:p@", "HTTP 401"},
	{"forbidden", status(http.StatusForbidden), "", "HTTP 403"},
	{"dumb server", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s\trefs/heads/main\n", id1)
	}, "", "not a smart-HTTP answer"},
	{"ls-refs fails", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		answer(v2Advert, "")(w, r)
	}, "", "HTTP 500"},
	{"ls-refs answered with another type", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", advertType)
		fmt.Fprint(w, map[string]string{http.MethodGet: v2Advert, http.MethodPost: "0000"}[r.Method])
	}, "", "not a smart-HTTP answer"},
	{"cut short", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", advertType)
		w.Header().Set("Content-Length", "1000")
		fmt.Fprint(w, pkts("# service=git-upload-pack\n", "0000", id1+" refs/heads/x\x00c\n"))
	}, "", "answer cut short"},
	{"longer than the cap", answer(pkts("# service=git-upload-pack\n", "0000", id1+" refs/heads/x\x00c\n")+
		strings.Repeat(pkts(id1+" refs/pull/"+strings.Repeat("1", 60)+"\n"), maxAnswer/100), ""), "", "longer than 8 MiB"},
	{"malformed", answer(v2Advert, pkts("nonsense\n", "0000")), "", "invalid ls-refs line"},
}

func TestListLeavesToGitWhatItDoesNotHandle(t *testing.T) {
	ca := testenv.NewCA(t)
	env := git.SafeEnv(testenv.IsolatedGitEnv(t, "", "GIT_SSL_CAINFO="+ca.File))
	c := New(env)
	defer c.Close()
	for _, tc := range refusedAnswers {
		t.Run(tc.name, func(t *testing.T) {
			remote := strings.Replace(fakeServer(t, ca, tc.handler), "https://", "https://"+tc.user, 1) + "/r.git"
			_, err := c.List(t.Context(), remote, env, time.Minute)
			if !errors.Is(err, ErrUseGit) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("List error %v, want ErrUseGit: %q", err, tc.why)
			}
		})
	}
}

func TestListErrorsReadLikeGits(t *testing.T) {
	ca := testenv.NewCA(t)
	env := git.SafeEnv(testenv.IsolatedGitEnv(t, "", "GIT_SSL_CAINFO="+ca.File))
	c := New(env)
	defer c.Close()
	withUser := func(u string) string { return strings.Replace(u, "https://", "https://bot:hunter2@", 1) + "/r.git" }

	errURL := withUser(fakeServer(t, ca, answer(pkts("# service=git-upload-pack\n", "0000", "ERR access denied to "+withUser("https://x")+"\n"), "")))
	tooMany := pkts("version 2\n", "ls-refs\n", "0000")
	refs := strings.Repeat(pkts(id1+" refs/heads/"+strings.Repeat("y", 200)+"\n"), git.MaxLsRemoteOutput/240+10) + "0000"
	tooManyURL := withUser(fakeServer(t, ca, answer(tooMany, refs)))
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := withUser("https://" + l.Addr().String())
	l.Close()
	closes := withUser(fakeServer(t, ca, func(w http.ResponseWriter, r *http.Request) {
		conn, _, _ := http.NewResponseController(w).Hijack()
		conn.Close() // hangs up without a word
	}))
	other := testenv.NewCA(t) // a server whose certificate the configured CA did not sign
	otherURL := withUser(fakeServer(t, other, answer(tooMany, "0000")))

	cases := []struct {
		remote, want string
		useGit       bool
	}{
		{errURL, "git ls-remote " + git.MaskURL(errURL) + ": fatal: remote error: access denied to https://bot:***@x/r.git", false},
		{tooManyURL, "git ls-remote " + git.MaskURL(tooManyURL) + ": more than 1024 KiB of refs", false},
		{refused, "git ls-remote " + git.MaskURL(refused) + ": fatal: unable to access '" +
			strings.Replace(refused, "bot:hunter2@", "", 1) + "/': Failed to connect to 127.0.0.1 port " +
			strings.TrimPrefix(l.Addr().String(), "127.0.0.1:") + ": connection refused", false},
		{closes, "git ls-remote " + git.MaskURL(closes) + ": fatal: unable to access '" +
			strings.Replace(closes, "bot:hunter2@", "", 1) + "/': EOF", false},
		{otherURL, "TLS handshake", true},
		{"https://bot:hunter2@pipelined-test.invalid/r.git", "resolving the host", true},
	}
	for _, tc := range cases {
		_, err := c.List(t.Context(), tc.remote, env, time.Minute)
		if err == nil || errors.Is(err, ErrUseGit) != tc.useGit || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("List(%s) error %v;\nwant %q (use git: %v)", git.MaskURL(tc.remote), err, tc.want, tc.useGit)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the password shows in %q", err)
		}
	}
}

func TestAHungRemoteTimesOutBesideAHealthyOneAndNothingLeaks(t *testing.T) {
	root := t.TempDir()
	manyRefs(t, root, "healthy")
	ca := testenv.NewCA(t)
	env := git.SafeEnv(testenv.IsolatedGitEnv(t, "", "GIT_SSL_CAINFO="+ca.File))
	srv := testenv.ServeGitHTTPS(t, ca, root, testenv.HTTPSGitOptions{})
	hung, hungOpen := testenv.HangingTLSServer(t, ca)
	before := runtime.NumGoroutine()

	c := New(env)
	const timeout = 2 * time.Second
	hungDone := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := c.List(t.Context(), "https://"+hung+"/r.git", env, timeout)
		hungDone <- err
	}()
	for i := 0; i < 3; i++ {
		if _, err := c.List(t.Context(), srv.URL+"/healthy.git", env, time.Minute); err != nil {
			t.Fatalf("healthy remote, listing %d: %v", i, err)
		}
	}
	if n := srv.Connections(); n != 1 {
		t.Errorf("three listings of one host opened %d connections, want 1", n)
	}
	err := <-hungDone
	took := time.Since(start)
	if !errors.Is(err, procexec.ErrTimedOut) || !strings.Contains(err.Error(), "operation timed out after 2s") {
		t.Errorf("hung remote: %v, want a timeout", err)
	}
	if took < timeout || took > timeout+30*time.Second {
		t.Errorf("hung remote took %v with a timeout of %v", took, timeout)
	}

	ctx, cancel := context.WithCancel(t.Context())
	go func() { // cancels once the listing is waiting for its answer
		for deadline := time.Now().Add(time.Minute); hungOpen() == 0 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	if _, err := c.List(ctx, "https://"+hung+"/r.git", env, time.Hour); !errors.Is(err, procexec.ErrCanceled) {
		t.Errorf("canceled listing: %v, want ErrCanceled", err)
	}

	c.Close()
	testenv.Eventually(t, time.Minute, "connections or goroutines left behind", func() bool {
		return srv.OpenConnections() == 0 && hungOpen() == 0 && runtime.NumGoroutine() <= before
	})
}
