package polling

import (
	"slices"
	"time"
)

// Schedule says when each remote is due (SPEC §6): every interval after its last poll
// started, so that one slow remote delays nothing but itself. It holds no clock and starts
// nothing: its owner (the watcher's loop, or the daemon that runs a pass of
// pipeline-watch --once for the remotes due) asks it what is due at a time it gives, which
// lets the rules be tested without real time.
type Schedule struct {
	every   time.Duration // 0: each remote once (--once)
	entries map[string]*entry
}

type entry struct {
	due      time.Time // zero: never again
	inFlight bool
	gone     bool      // no longer configured: dropped when its poll in flight ends
	ended    time.Time // when its last poll ended
	rank     int       // position in the configuration, which breaks ties between equal due times
}

// NewSchedule returns an empty schedule of remotes due every interval; 0 polls a remote
// only when it is made due.
func NewSchedule(every time.Duration) *Schedule {
	return &Schedule{every: every, entries: map[string]*entry{}}
}

// Set makes urls the remotes of the schedule, every one due at due (zero: not due): a new
// configuration is polled right away, including by a remote in flight, as soon as its
// poll ends (that poll asked on behalf of the old configuration).
func (s *Schedule) Set(urls []string, due time.Time) {
	for _, e := range s.entries {
		e.gone = true
	}
	for i, url := range urls {
		e := s.entries[url]
		if e == nil {
			e = &entry{}
			s.entries[url] = e
		}
		e.due, e.gone, e.rank = due, false, i
	}
	for url, e := range s.entries {
		if e.gone && !e.inFlight {
			delete(s.entries, url)
		}
	}
}

// Take returns at most n of the remotes due at now, the longest overdue first, and marks
// them in flight and due again one interval from now. A remote in flight is never due: it
// is skipped, not waited for and not started twice.
func (s *Schedule) Take(now time.Time, n int) []string {
	var due []string
	for url, e := range s.entries {
		if !e.inFlight && !e.due.IsZero() && !e.due.After(now) {
			due = append(due, url)
		}
	}
	slices.SortFunc(due, func(a, b string) int {
		ea, eb := s.entries[a], s.entries[b]
		if c := ea.due.Compare(eb.due); c != 0 {
			return c
		}
		return ea.rank - eb.rank
	})
	due = due[:min(len(due), max(n, 0))]
	for _, url := range due {
		e := s.entries[url]
		e.inFlight = true
		e.due = time.Time{}
		if s.every > 0 {
			e.due = now.Add(s.every)
		}
	}
	return due
}

// Done marks the end of a remote's poll, at now.
func (s *Schedule) Done(url string, now time.Time) {
	e := s.entries[url]
	if e == nil {
		return
	}
	e.inFlight, e.ended = false, now
	if e.gone {
		delete(s.entries, url)
	}
}

// Next returns the earliest time a remote not in flight is due, and false if none ever is.
func (s *Schedule) Next() (time.Time, bool) {
	var first time.Time
	for _, e := range s.entries {
		if !e.inFlight && !e.due.IsZero() && (first.IsZero() || e.due.Before(first)) {
			first = e.due
		}
	}
	return first, !first.IsZero()
}

// InFlight reports whether a poll of url runs.
func (s *Schedule) InFlight(url string) bool {
	e := s.entries[url]
	return e != nil && e.inFlight
}

// EndedSince reports whether the last poll of one of urls ended at t or later.
func (s *Schedule) EndedSince(urls []string, t time.Time) bool {
	for _, url := range urls {
		if e := s.entries[url]; e != nil && !e.ended.Before(t) {
			return true
		}
	}
	return false
}

// DueNow makes the remotes urls due at now: a poll asked for by hand. One in flight is
// polled again as soon as it ends, since it may have asked before the push it is for.
func (s *Schedule) DueNow(urls []string, now time.Time) {
	for _, url := range urls {
		if e := s.entries[url]; e != nil {
			e.due = now
		}
	}
}
