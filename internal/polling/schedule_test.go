package polling

import (
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(seconds float64) time.Time { return t0.Add(time.Duration(seconds * float64(time.Second))) }

func takeExactly(t *testing.T, s *Schedule, now time.Time, n int, want ...string) {
	t.Helper()
	if got := s.Take(now, n); !slices.Equal(got, want) {
		t.Errorf("take(t0+%v, %d) = %q, want %q", now.Sub(t0), n, got, want)
	}
}

func nextIs(t *testing.T, s *Schedule, want time.Time) {
	t.Helper()
	if got, ok := s.Next(); !ok || !got.Equal(want) {
		t.Errorf("next() = t0+%v (%v), want t0+%v", got.Sub(t0), ok, want.Sub(t0))
	}
}

// Each remote is due every interval after its last poll started; one that hangs is
// skipped, while the others keep their own pace.
func TestScheduleDueTimesAndSkipInFlight(t *testing.T) {
	s := NewSchedule(2 * time.Second)
	s.Set([]string{"hang", "ok"}, t0)
	takeExactly(t, s, t0, 8, "hang", "ok") // all due at once, in the configuration's order
	takeExactly(t, s, t0, 8)               // in flight: not started twice
	s.Done("ok", t0)                       // a poll of 0.3 s
	nextIs(t, s, at(2))                    // due 2 s after it started, not after it ended
	takeExactly(t, s, at(1.9), 8)
	takeExactly(t, s, at(2), 8, "ok") // "hang" is still in flight: skipped, not waited for
	s.Done("ok", t0)
	takeExactly(t, s, at(4.5), 8, "ok") // a late wake-up: due again 2 s after this start
	s.Done("ok", t0)
	nextIs(t, s, at(6.5))
	s.Done("hang", t0)                         // its timeout, after 30 s: overdue since 2 s,
	takeExactly(t, s, at(30), 8, "hang", "ok") // so asked again at once, before "ok" (6.5 s)
	if _, ok := s.Next(); ok {
		t.Error("next() with every remote in flight")
	}
}

// The concurrency bound: no more than n are taken, the longest overdue first, and the rest
// stay due.
func TestScheduleTakesTheLongestOverdueWithinTheBound(t *testing.T) {
	s := NewSchedule(10 * time.Second)
	s.Set([]string{"a", "b", "c"}, t0)
	takeExactly(t, s, t0, 1, "a")
	takeExactly(t, s, t0, 0)
	s.Done("a", t0)
	takeExactly(t, s, at(11), 2, "b", "c") // due since t0, before "a" (due at 10)
	takeExactly(t, s, at(11), 2, "a")
}

// A reload makes every remote due at once; a new remote joins, a removed one leaves, and
// one removed while in flight leaves when its poll ends, unless it came back meanwhile.
func TestScheduleReload(t *testing.T) {
	s := NewSchedule(60 * time.Second)
	s.Set([]string{"a", "b", "c"}, t0)
	takeExactly(t, s, t0, 8, "a", "b", "c")
	s.Done("a", t0)
	s.Done("b", t0)
	s.Set([]string{"d", "a", "c"}, at(5)) // "b" removed; "c" still in flight
	takeExactly(t, s, at(5), 8, "d", "a") // polled right away, not 60 s later
	s.Done("c", t0)                       // its poll was for the old configuration:
	takeExactly(t, s, at(6), 8, "c")      // asked again for the new one
	s.Set([]string{"a"}, at(7))           // "c", "d" removed while in flight
	s.Set([]string{"a", "c"}, at(8))      // and "c" comes back
	takeExactly(t, s, at(8), 8)           // "a", "c" are in flight
	s.Done("a", t0)
	s.Done("c", t0)
	s.Done("d", t0)
	takeExactly(t, s, at(8), 8, "a", "c")
	if _, known := s.entries["b"]; known {
		t.Error("a removed remote is still scheduled")
	}
	if _, known := s.entries["d"]; known {
		t.Error("a remote removed while in flight is still scheduled after its poll ended")
	}
}

// --once: each remote is asked once, however long the others take.
func TestScheduleOnce(t *testing.T) {
	s := NewSchedule(0)
	s.Set([]string{"a", "b"}, t0)
	takeExactly(t, s, t0, 1, "a")
	s.Done("a", t0)
	takeExactly(t, s, at(3600), 8, "b")
	s.Done("b", t0)
	takeExactly(t, s, at(7200), 8)
	if _, ok := s.Next(); ok {
		t.Error("next() after every remote was asked once")
	}
}
