package spool

import (
	"syscall"
	"testing"
	"time"
)

// TestOutcomeTable is SPEC §5.1's table, row by row.
func TestOutcomeTable(t *testing.T) {
	cases := []struct {
		name string
		e    Ending
		want Outcome
	}{
		{"success", Ending{Exited: true, Code: 0, Result: "success"}, Done},
		{"skipped exits 0", Ending{Exited: true, Code: 0, Result: "skipped"}, Done},
		{"failed", Ending{Exited: true, Code: 1, Result: "failed"}, Done},
		{"failed without build.json (the ref is gone)", Ending{Exited: true, Code: 1}, Done},
		{"success recorded, then killed", Ending{Exited: true, Signal: syscall.SIGKILL, Result: "success"}, Done},
		{"success recorded, found after a restart", Ending{Result: "success"}, Done},
		{"canceled by hand", Ending{Exited: true, Code: 143, Result: "canceled", Withdrawn: "canceled by hand"}, Withdrawn},
		{"superseded, killed after the grace", Ending{Exited: true, Signal: syscall.SIGKILL, Result: "running", Withdrawn: "superseded by 0123abcd"}, Withdrawn},
		{"canceled by hand, found after a restart", Ending{Result: "canceled", Withdrawn: "canceled by hand"}, Withdrawn},
		{"finished before the cancel landed", Ending{Exited: true, Code: 0, Result: "success", Withdrawn: "canceled by hand"}, Done},
		{"canceled before it started", Ending{Exited: true, Code: 1, Withdrawn: "canceled by hand"}, Withdrawn},
		{"canceled by the shutdown", Ending{Exited: true, Code: 143, Result: "canceled", Stopping: true}, Requeue},
		{"SIGQUIT shutdown", Ending{Exited: true, Code: 131, Result: "canceled", Stopping: true}, Requeue},
		{"killed after the grace at shutdown", Ending{Exited: true, Signal: syscall.SIGKILL, Result: "running", Stopping: true}, Requeue},
		{"canceled by the shutdown, found after a restart", Ending{Result: "canceled", Stopped: true}, Requeue},
		{"killed after the grace at shutdown, found after a restart", Ending{Result: "running", Stopped: true}, Requeue},
		{"canceled by an operator, found after a restart", Ending{Result: "canceled"}, Withdrawn},
		{"canceled by a signal from elsewhere", Ending{Exited: true, Code: 130}, Withdrawn},
		{"canceled by a signal from elsewhere, recorded", Ending{Exited: true, Code: 143, Result: "canceled"}, Withdrawn},
		{"infrastructure error", Ending{Exited: true, Code: 75}, Retry},
		{"its engine stopped answering", Ending{Exited: true, Code: 143, Result: "canceled", Interrupted: "the Docker engine b2 does not answer"}, Retry},
		{"infrastructure error recorded as failed", Ending{Exited: true, Code: 75, Result: "failed", Retry: true}, Retry},
		{"infrastructure error, found after a restart", Ending{Result: "failed", Retry: true}, Retry},
		{"killed", Ending{Exited: true, Signal: syscall.SIGKILL, Result: "running"}, Retry},
		{"died before build.json", Ending{Exited: true, Signal: syscall.SIGSEGV}, Retry},
		{"usage error under a daemon", Ending{Exited: true, Code: 2}, Retry},
		{"a Go panic", Ending{Exited: true, Code: 2, Result: "running"}, Retry},
		{"gone after a restart", Ending{Result: "running"}, Retry},
		{"gone after a restart, no build.json", Ending{}, Retry},
	}
	for _, tc := range cases {
		got, reason := Decide(tc.e)
		if got != tc.want {
			t.Errorf("%s: Decide(%+v) = %v, want %v", tc.name, tc.e, got, tc.want)
		}
		if (got == Retry || got == Requeue || got == Withdrawn) && reason == "" {
			t.Errorf("%s: %v without a reason", tc.name, got)
		}
	}
}

func TestRetryBackOffDoublesUpToTenMinutes(t *testing.T) {
	at := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	j := job
	if !RetryAt(j).IsZero() {
		t.Error("a job without attempts must not wait")
	}
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second}
	for i, d := range want {
		j = j.WithAttempt(at, "x")
		if got := RetryAt(j).Sub(at); got != d {
			t.Errorf("after %d attempts the back-off is %v, want %v", i+1, got, d)
		}
	}
	// Jobs keep MaxAttempts attempts; the cap holds for any count all the same.
	for i := 0; i < 10; i++ {
		j.Attempts = append(j.Attempts, Attempt{At: at, Reason: "x"})
	}
	if got := RetryAt(j).Sub(at); got != maxRetry {
		t.Errorf("the back-off grows to %v, want at most %v", got, maxRetry)
	}
}

// TestAJobMovedBackFromBadGetsOneMoreTry: the operator's way after fixing a fault.
func TestAJobMovedBackFromBadGetsOneMoreTry(t *testing.T) {
	at := time.Now().Add(-time.Hour)
	j := job
	for i := 0; i < MaxAttempts; i++ {
		j = j.WithAttempt(at, "full disk")
	}
	if err := j.Validate(); err != nil {
		t.Fatalf("a job with %d attempts is refused: %v", MaxAttempts, err)
	}
	if RetryAt(j).After(time.Now()) {
		t.Error("a job whose last attempt is long past must run at once")
	}
	j = j.WithAttempt(time.Now(), "full disk again")
	if len(j.Attempts) != MaxAttempts || j.Attempts[MaxAttempts-1].Reason != "full disk again" {
		t.Errorf("attempts = %+v, want the last %d", j.Attempts, MaxAttempts)
	}
	if len(j.Encode()) > MaxJobSize/2 {
		t.Errorf("a job with %d long attempts takes %d bytes", MaxAttempts, len(j.Encode()))
	}
}
