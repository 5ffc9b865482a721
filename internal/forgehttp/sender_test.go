package forgehttp

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/forge"
	"pipelined/internal/testenv"
)

// passUntil runs passes until the outbox is empty, and fails after the deadline.
func passUntil(t *testing.T, snd *Sender, deadline time.Duration) {
	t.Helper()
	testenv.Eventually(t, deadline, "the record was not delivered", func() bool {
		left, _ := snd.Pass(context.Background())
		return left == 0
	})
}

func TestRateLimitsAreWaitedOutAsTheForgeSays(t *testing.T) {
	cases := []struct {
		name   string
		kind   string
		code   int
		header http.Header
		body   string
		wait   time.Duration // what the forge asks for
	}{
		{"429 with Retry-After", config.ForgeGitHub, 429, http.Header{"Retry-After": {"1"}}, `{"message":"slow down"}`, time.Second},
		{"403 with X-RateLimit-Remaining 0", config.ForgeGitHub, 403, http.Header{"X-Ratelimit-Remaining": {"0"},
			"X-Ratelimit-Reset": {strconv.FormatInt(time.Now().Add(2*time.Second).Unix(), 10)}}, `{"message":"API rate limit exceeded"}`, 2 * time.Second},
		{"GitLab's 429 with RateLimit-Reset", config.ForgeGitLab, 429, http.Header{"Ratelimit-Remaining": {"0"},
			"Ratelimit-Reset": {strconv.FormatInt(time.Now().Add(2*time.Second).Unix(), 10)}}, `{"message":"Retry later"}`, 2 * time.Second},
		{"403 secondary limit without headers", config.ForgeGitHub, 403, nil, `{"message":"You have exceeded a secondary rate limit"}`, rateLimitWait},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeForge(t, func(n int, r *http.Request) (int, http.Header, string) {
				if n == 1 {
					return tc.code, tc.header, tc.body
				}
				return 201, nil, "{}"
			})
			s := newSite(t, tc.kind, f.srv.URL, "")
			s.enqueue(t, forge.Succeeded, "succeeded", time.Now())
			snd := s.sender(SenderOptions{})
			before := time.Now()
			left, next := snd.Pass(context.Background())
			if left != 1 || next.Sub(before) < tc.wait-time.Second || next.Sub(before) > tc.wait+2*time.Second {
				t.Fatalf("after the limit: %d left, next in %v; want 1 left, next in about %v", left, next.Sub(before), tc.wait)
			}
			snd.Pass(context.Background()) // before the time: no request
			if n := len(f.requests()); n != 1 {
				t.Fatalf("%d requests before the limit's end, want 1", n)
			}
			if !strings.Contains(s.log.String(), "rate limit is reached") {
				t.Errorf("no log line says so:\n%s", s.log)
			}
			if tc.wait <= 2*time.Second {
				passUntil(t, snd, 10*time.Second)
				if n := len(f.requests()); n != 2 {
					t.Errorf("%d requests, want 2", n)
				}
			}
			s.checkNoToken(t)
		})
	}
}

func TestAnotherClientErrorIsNotRetried(t *testing.T) {
	f := newFakeForge(t, func(int, *http.Request) (int, http.Header, string) {
		// A forge that echoed the token must not get it into the log.
		return 422, nil, `{"message":"Validation forge.Failed","errors":[{"message":"No commit found for SHA ` + testToken + `"}]}`
	})
	s := newSite(t, config.ForgeGitHub, f.srv.URL, "")
	s.enqueue(t, forge.Failed, "docker-build failed: exit 1", time.Now())
	snd := s.sender(SenderOptions{})
	for range 3 {
		snd.Pass(context.Background())
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests, want 1: a 422 is not retried", n)
	}
	if got := s.files(t, "new"); len(got) != 0 {
		t.Errorf("still waiting: %v", got)
	}
	bad := s.files(t, "bad")
	if len(bad) != 2 {
		t.Fatalf("bad/ = %v, want the record and its reason", bad)
	}
	reason, _ := os.ReadFile(s.outbox + "/bad/" + bad[0] + ".reason")
	if !strings.Contains(string(reason), "422") || !strings.Contains(string(reason), "No commit found for SHA ***") {
		t.Errorf("the reason is %q, want the forge's own message", reason)
	}
	if !strings.Contains(s.log.String(), "Validation forge.Failed") || !strings.Contains(s.log.String(), "set aside") {
		t.Errorf("the log does not carry the forge's message:\n%s", s.log)
	}
	s.checkNoToken(t)
}

func TestARedirectIsNotFollowed(t *testing.T) {
	elsewhere := newFakeForge(t, nil)
	f := newFakeForge(t, func(int, *http.Request) (int, http.Header, string) {
		return 301, http.Header{"Location": {elsewhere.srv.URL + "/x"}}, ""
	})
	s := newSite(t, config.ForgeGitLab, f.srv.URL, "")
	s.enqueue(t, forge.Started, "building", time.Now())
	s.sender(SenderOptions{}).Pass(context.Background())
	if len(elsewhere.requests()) != 0 {
		t.Fatal("the token header followed a redirect")
	}
	if !strings.Contains(s.log.String(), "set forge.url to the address of the API") {
		t.Errorf("the log does not say what to do:\n%s", s.log)
	}
}

func TestServerErrorsBackOffAndThenDeliver(t *testing.T) {
	f := newFakeForge(t, func(n int, _ *http.Request) (int, http.Header, string) {
		if n <= 3 {
			return 502, nil, "<html>bad gateway</html>"
		}
		return 201, nil, "{}"
	})
	s := newSite(t, config.ForgeGitea, f.srv.URL, "")
	s.enqueue(t, forge.Succeeded, "succeeded", time.Now())
	snd := s.sender(SenderOptions{})
	passUntil(t, snd, 30*time.Second)
	if n := len(f.requests()); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
	log := s.log.String()
	if strings.Count(log, "cannot deliver statuses") != 1 || !strings.Contains(log, "the forge answers again") {
		t.Errorf("want one warning for the failures and one line for the recovery:\n%s", log)
	}
}

func TestAForgeThatIsDownOrHangsHoldsNothing(t *testing.T) {
	down := newFakeForge(t, nil)
	down.srv.Close() // connection refused
	for name, url := range map[string]string{"down": down.srv.URL, "hung": "http://" + testenv.HangingServer(t)} {
		t.Run(name, func(t *testing.T) {
			s := newSite(t, config.ForgeGitHub, url, "")
			s.enqueue(t, forge.Started, "building", time.Now())
			snd := s.sender(SenderOptions{RequestTimeout: 300 * time.Millisecond})
			start := time.Now()
			left, _ := snd.Pass(context.Background())
			if took := time.Since(start); left != 1 || took > 5*time.Second {
				t.Errorf("%d left after %v; want the record kept, and the pass bounded", left, took)
			}
			if !strings.Contains(s.log.String(), "cannot deliver statuses to the forge") {
				t.Errorf("no warning:\n%s", s.log)
			}
			// A cancel (the daemon stopping) ends a request in flight at once.
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { snd.Run(ctx); close(done) }()
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return when its context ended")
			}
		})
	}
}

func TestOnlyTheNewestStateIsSent(t *testing.T) {
	f := newFakeForge(t, nil)
	s := newSite(t, config.ForgeGitHub, f.srv.URL, "")
	now := time.Now()
	s.enqueue(t, forge.Started, "building", now)
	s.enqueue(t, forge.Succeeded, "succeeded", now.Add(time.Second))
	s.enqueue(t, forge.Retrying, "retry 1 of 5: late", now.Add(-time.Second)) // written late, older all the same
	s.sender(SenderOptions{}).Pass(context.Background())
	got := f.requests()
	if len(got) != 1 || got[0].Body["state"] != "success" {
		t.Errorf("requests %v, want the success alone", got)
	}
}

// TestAStatusIsGivenUpAfterItsTime: a status the forge has failed to take for 24 h since
// its change is set aside, with a log line; it is tried once more first, so that a status
// that waited while no daemon ran (a weekend) still goes to a forge that answers.
func TestAStatusIsGivenUpAfterItsTime(t *testing.T) {
	f := newFakeForge(t, func(int, *http.Request) (int, http.Header, string) { return 503, nil, "" })
	s := newSite(t, config.ForgeGitHub, f.srv.URL, "")
	s.enqueue(t, forge.Succeeded, "succeeded", time.Now().Add(-25*time.Hour))
	snd := s.sender(SenderOptions{})
	snd.Pass(context.Background())
	if len(f.requests()) != 1 || len(s.files(t, "new")) != 1 {
		t.Fatalf("an old status was not tried first: requests %d, new %v", len(f.requests()), s.files(t, "new"))
	}
	testenv.Eventually(t, 10*time.Second, "the status was not set aside", func() bool {
		snd.Pass(context.Background())
		return len(s.files(t, "new")) == 0
	})
	if len(f.requests()) != 1 || len(s.files(t, "bad")) != 2 {
		t.Errorf("requests %d, bad %v; want one try, then the record set aside", len(f.requests()), s.files(t, "bad"))
	}
	if !strings.Contains(s.log.String(), "not delivered within 24h0m0s") || !strings.Contains(s.log.String(), "503") {
		t.Errorf("no log line for giving up, with the last failure:\n%s", s.log)
	}

	up := newFakeForge(t, nil)
	s = newSite(t, config.ForgeGitHub, up.srv.URL, "")
	s.enqueue(t, forge.Succeeded, "succeeded", time.Now().Add(-72*time.Hour))
	if left, _ := s.sender(SenderOptions{}).Pass(context.Background()); left != 0 || len(up.requests()) != 1 || len(s.files(t, "bad")) != 0 {
		t.Errorf("a status that waited 72 h for a daemon was not delivered: %d left, %d requests", left, len(up.requests()))
	}
}

func TestTheTokenIsReadAtEachUse(t *testing.T) {
	f := newFakeForge(t, nil)
	s := newSite(t, config.ForgeGitea, f.srv.URL, "")
	snd := s.sender(SenderOptions{})
	s.enqueue(t, forge.Started, "building", time.Now())
	snd.Pass(context.Background())
	os.WriteFile(s.token, []byte("rotated-token"), 0o600)
	s.enqueue(t, forge.Succeeded, "succeeded", time.Now())
	snd.Pass(context.Background())
	got := f.requests()
	if len(got) != 2 || got[1].Header.Get("Authorization") != "token rotated-token" {
		t.Fatalf("requests %v: want the second with the rotated token", got)
	}
	os.Remove(s.token)
	s.enqueue(t, forge.Failed, "x", time.Now().Add(time.Second))
	if left, _ := snd.Pass(context.Background()); left != 1 || !strings.Contains(s.log.String(), s.token) {
		t.Errorf("without a token file: %d left; want the record kept and the file named:\n%s", left, s.log)
	}
}

// TestARecordReplacedWhileItWaitsIsNotSetAside: a build writes a newer state of a commit
// while the Sender is busy with another commit; the older record it listed is gone when its
// turn comes. That is no fault: nothing is set aside nor logged as an error, and the newer
// state goes next.
func TestARecordReplacedWhileItWaitsIsNotSetAside(t *testing.T) {
	var s *site
	var replace func()
	f := newFakeForge(t, func(n int, _ *http.Request) (int, http.Header, string) {
		if n == 1 {
			replace()
		}
		return 201, nil, "{}"
	})
	s = newSite(t, config.ForgeGitHub, f.srv.URL, "")
	now := time.Now()
	other, err := forge.NewRecord(s.project(), "refs/heads/dev", strings.Repeat("f", 40), forge.Started, "building", now.Add(-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	forge.Enqueue(s.outbox, other) // sent first: its group is the oldest
	s.enqueue(t, forge.Started, "building", now)
	replace = func() { s.enqueue(t, forge.Succeeded, "succeeded", now.Add(time.Second)) }
	snd := s.sender(SenderOptions{})
	passUntil(t, snd, 10*time.Second)
	passUntil(t, snd, 10*time.Second) // the pass after it lists the newer record
	if strings.Contains(s.log.String(), "set aside") || len(s.files(t, "bad")) != 0 {
		t.Errorf("a record replaced by a newer one was set aside:\n%s", s.log)
	}
	got := f.requests()
	if last := got[len(got)-1]; last.Body["state"] != "success" {
		t.Errorf("the last request is %v, want the success", last.Body)
	}
}

// TestOneSenderAtATime: while one Sender delivers, another on the same outbox (pipeline-build
// run by hand, and a daemon started meanwhile) sends nothing, so that neither can send an
// older state of a commit after the other sent a newer one; it delivers once the first is
// done.
func TestOneSenderAtATime(t *testing.T) {
	var s *site
	var second *Sender
	var during int
	f := newFakeForge(t, func(n int, _ *http.Request) (int, http.Header, string) {
		if n == 1 {
			s.enqueue(t, forge.Succeeded, "succeeded", time.Now().Add(time.Second))
			if left, _ := second.Pass(context.Background()); left == 0 {
				t.Error("the second Sender found nothing to wait for")
			}
			during = n
		}
		return 201, nil, "{}"
	})
	s = newSite(t, config.ForgeGitea, f.srv.URL, "")
	s.enqueue(t, forge.Started, "building", time.Now())
	first := s.sender(SenderOptions{})
	second = s.sender(SenderOptions{})
	first.Pass(context.Background())
	if got := f.requests(); during != 1 || len(got) != 1 {
		t.Fatalf("%d requests while the first Sender delivered, want its own alone", len(got))
	}
	passUntil(t, second, 10*time.Second)
	if got := f.requests(); len(got) != 2 || got[1].Body["state"] != "success" {
		t.Errorf("requests %v, want the success last", got)
	}
}

// A forge (or a proxy) that echoes the token in a redirect's Location does not get it
// into the log.
func TestARedirectEchoingTheTokenLogsNoToken(t *testing.T) {
	f := newFakeForge(t, func(_ int, r *http.Request) (int, http.Header, string) {
		return 302, http.Header{"Location": {"https://elsewhere.example/login?t=" + strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")}}, ""
	})
	s := newSite(t, config.ForgeGitHub, f.srv.URL, "")
	s.enqueue(t, forge.Started, "building", time.Now())
	s.sender(SenderOptions{}).Pass(context.Background())
	if !strings.Contains(s.log.String(), "elsewhere.example") {
		t.Fatalf("the log does not name the redirect:\n%s", s.log)
	}
	s.checkNoToken(t)
}
