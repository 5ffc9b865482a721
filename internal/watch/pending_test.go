package watch

import (
	"testing"
	"time"

	"pipelined/internal/polling"
)

var t0 = time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)

func at(seconds float64) time.Time { return t0.Add(time.Duration(seconds * float64(time.Second))) }

// A snapshot of the pending jobs serves a batch only if it is young and holds what the
// previous poll of each remote in it wrote.
func TestPendingSnapshotServes(t *testing.T) {
	s := polling.NewSchedule(2 * time.Second)
	s.Set([]string{"a", "b"}, t0)
	s.Take(t0, 8)
	s.Done("a", at(1))
	snap := pendingJobs{keys: map[string]string{}, at: at(1.5)}
	cases := []struct {
		due  []string
		now  time.Time
		want bool
	}{
		{[]string{"a"}, at(2), true},                       // "a" ended before the snapshot
		{[]string{"a"}, at(1.5).Add(maxPendingAge), false}, // too old
		{[]string{"b"}, at(2), true},                       // "b" never ended: nothing of its own to miss
	}
	for _, tc := range cases {
		if got := snap.serves(tc.due, s, tc.now); got != tc.want {
			t.Errorf("serves(%q, t0+%v) = %v, want %v", tc.due, tc.now.Sub(t0), got, tc.want)
		}
	}
	s.Done("b", at(1.5)) // ended as the snapshot was taken: its jobs may be missing
	if snap.serves([]string{"a", "b"}, s, at(2)) {
		t.Error("a snapshot served a remote whose poll ended after it was taken")
	}
	if (pendingJobs{}).serves([]string{"a"}, s, at(2)) {
		t.Error("no snapshot at all served")
	}
}
