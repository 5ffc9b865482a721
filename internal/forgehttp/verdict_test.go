package forgehttp

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// A forge (or a proxy in front of it) asking for an absurd wait is bounded to maxWait, and
// never overflows into a wait of one second that would hammer it.
func TestAbsurdRateLimitWaitsAreBounded(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name string
		h    http.Header
		want time.Duration
	}{
		{"Retry-After negative", http.Header{"Retry-After": {"-5"}}, 0},
		{"Retry-After of centuries", http.Header{"Retry-After": {"10000000000"}}, maxWait},
		{"Retry-After beyond int64", http.Header{"Retry-After": {"99999999999999999999"}}, 0},
		{"Retry-After as a far date", http.Header{"Retry-After": {"Fri, 01 Jan 9999 00:00:00 GMT"}}, maxWait},
		{"Retry-After as a past date", http.Header{"Retry-After": {"Fri, 01 Jan 1999 00:00:00 GMT"}}, time.Second},
		{"X-RateLimit-Reset in the year 3000", http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"32503680000"}}, maxWait},
		{"X-RateLimit-Reset far beyond", http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {strconv.FormatInt(1<<62, 10)}}, maxWait},
		{"X-RateLimit-Reset negative", http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"-99999999999"}}, time.Second},
	}
	for _, tc := range cases {
		if got := waitFor(tc.h, now); got != tc.want {
			t.Errorf("%s: wait %v, want %v", tc.name, got, tc.want)
		}
	}
}
