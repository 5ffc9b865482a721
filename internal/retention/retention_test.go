package retention

import (
	"strings"
	"testing"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/outcome"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// builds makes a ref's builds, newest first, from results ("success", "failed", "running"
// for a build whose process runs: this test process), one hour apart.
func builds(results ...string) []Build {
	var out []Build
	for i, r := range results {
		at := now.Add(-time.Duration(i+1) * time.Hour)
		st := &buildlog.Status{Result: r, Started: at, Finished: at}
		if r == outcome.Running {
			st.PID = pidOfThisTest()
		}
		out = append(out, Build{Dir: "b" + string(rune('0'+i)), Status: st, Started: at, Finished: at})
	}
	return out
}

func dirs(rs []Removal) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.Dir)
	}
	return strings.Join(s, " ")
}

func TestPlanKeepsTheNewestBuilds(t *testing.T) {
	cases := []struct {
		results []string
		keep    int
		want    string
	}{
		{[]string{"success", "success", "success", "success", "success"}, 2, "b2 b3 b4"},
		{[]string{"success", "success"}, 2, ""},
		{[]string{"success", "success", "success"}, 5, ""},
		// The newest build stays whatever its result, and so does the newest success.
		{[]string{"failed", "failed", "success", "failed", "success"}, 1, "b1 b3 b4"},
		{[]string{"failed", "failed", "failed"}, 1, "b1 b2"},
		// A running build is never removed and does not count as a finished one.
		{[]string{"running", "success", "success", "success"}, 2, "b3"},
		{[]string{"success", "running", "failed", "failed"}, 1, "b2 b3"},
	}
	for _, tc := range cases {
		if got := dirs(Plan(builds(tc.results...), Policy{KeepBuilds: tc.keep}, now)); got != tc.want {
			t.Errorf("%v keep %d: remove %q, want %q", tc.results, tc.keep, got, tc.want)
		}
	}
	if got := Plan(builds("success", "success", "success"), Policy{}, now); len(got) != 0 {
		t.Errorf("no policy removed %v", dirs(got))
	}
}

func TestPlanRemovesOldBuilds(t *testing.T) {
	old := now.Add(-10 * 24 * time.Hour)
	backDate := func(bs []Build) []Build {
		for i := range bs {
			bs[i].Finished = old
		}
		return bs
	}
	// All old: the newest build stays, and so does the newest success when it is another.
	rs := Plan(backDate(builds("failed", "success", "failed", "success")), Policy{KeepDays: 7}, now)
	if got := dirs(rs); got != "b2 b3" {
		t.Errorf("keep_days 7: remove %q, want b2 b3", got)
	}
	if !strings.Contains(rs[0].Reason, "keep_days = 7") {
		t.Errorf("reason %q", rs[0].Reason)
	}
	// Both limits: a build goes when either says so.
	bs := builds("success", "failed", "failed", "failed")
	bs[1].Finished = old
	if got := dirs(Plan(bs, Policy{KeepBuilds: 3, KeepDays: 7}, now)); got != "b1 b3" {
		t.Errorf("keep_builds 3 and keep_days 7: remove %q, want b1 b3", got)
	}
}

func TestNextIsWhatTheNextBuildPushesOut(t *testing.T) {
	bs := builds("success", "success")
	next, ok := Next(bs, Policy{KeepBuilds: 2}, now)
	if !ok || next.Dir != "b1" {
		t.Errorf("Next = %v, %v; want b1", next.Dir, ok)
	}
	if _, ok := Next(bs, Policy{}, now); ok {
		t.Error("Next without a policy")
	}
}
