package forgehttp

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"pipelined/internal/config"
)

// verdict is what an answer of the forge means for the record sent.
type verdict int

const (
	delivered verdict = iota // the forge has the status
	retry                    // a network error or a 5xx: try again after a back-off
	limited                  // a rate limit: try again when the forge says
	refused                  // another 4xx (or a redirect): trying again would not help
)

// Back-off bounds: a failing forge is asked again after firstBackoff, doubling up to
// maxBackoff; a rate limit without a time waits rateLimitWait (GitHub: "at least one
// minute"), and no wait is longer than maxWait, whatever a header says.
const (
	firstBackoff  = 5 * time.Second
	maxBackoff    = 10 * time.Minute
	rateLimitWait = time.Minute
	maxWait       = time.Hour
)

// classify reads the forge's answer to a status request. For limited it also returns how
// long the forge asks to wait, 0 when it does not say.
func classify(kind string, resp *http.Response, body []byte, now time.Time) (verdict, time.Duration) {
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return delivered, 0
	case kind == config.ForgeGitLab && code == http.StatusBadRequest && strings.Contains(string(body), "Cannot transition status"):
		// GitLab refuses to set a state the status already has, or to go back from running
		// to pending: it shows a state at least as new as this one already.
		return delivered, 0
	case code == http.StatusTooManyRequests || (code == http.StatusForbidden && rateLimited(resp, body)):
		return limited, waitFor(resp.Header, now)
	case code >= 500 || code == http.StatusRequestTimeout:
		return retry, 0
	}
	return refused, 0
}

// rateLimited tells GitHub's rate-limit 403 from a 403 for a token without the right: the
// limit's headers, or its message.
func rateLimited(resp *http.Response, body []byte) bool {
	h := resp.Header
	return h.Get("X-RateLimit-Remaining") == "0" || h.Get("Retry-After") != "" ||
		strings.Contains(strings.ToLower(string(body)), "rate limit")
}

// waitFor is how long the forge asks to wait: Retry-After (seconds or an HTTP date), else
// until X-RateLimit-Reset (GitLab: RateLimit-Reset), in Unix seconds, once none remain.
func waitFor(h http.Header, now time.Time) time.Duration {
	if ra := h.Get("Retry-After"); ra != "" {
		if s, err := strconv.Atoi(strings.TrimSpace(ra)); err == nil && s >= 0 {
			// Bounded before the multiplication, which would overflow for centuries.
			return bound(time.Duration(min(s, int(maxWait/time.Second))) * time.Second)
		}
		if t, err := http.ParseTime(ra); err == nil {
			return bound(t.Sub(now))
		}
	}
	for _, prefix := range []string{"X-RateLimit-", "RateLimit-"} {
		if h.Get(prefix+"Remaining") != "0" {
			continue
		}
		if reset, err := strconv.ParseInt(strings.TrimSpace(h.Get(prefix+"Reset")), 10, 64); err == nil {
			// Sub saturates for a reset centuries away; adding to it would overflow.
			return bound(time.Unix(reset, 0).Add(time.Second).Sub(now))
		}
	}
	return 0
}

// bound keeps a wait between a second and maxWait.
func bound(d time.Duration) time.Duration {
	return min(max(d, time.Second), maxWait)
}
