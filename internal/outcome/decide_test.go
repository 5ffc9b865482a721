package outcome

import (
	"syscall"
	"testing"
	"time"

	"pipelined/internal/spool"
)

// TestOutcomeTable is SPEC §5.1's table, row by row.
func TestOutcomeTable(t *testing.T) {
	byHand := Cancel{Withdrawn, "canceled by hand"}
	stopped := Cancel{Stopped, StoppedReason}
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
		{"success_callback exited 0 while the daemon stopped", Ending{Exited: true, Code: 0, Result: "success", Stopping: true, Cancel: stopped}, Done},
		{"canceled by hand", Ending{Exited: true, Code: 143, Result: "canceled", Cancel: byHand}, Withdraw},
		{"superseded, killed after the grace", Ending{Exited: true, Signal: syscall.SIGKILL, Result: "running", Cancel: Cancel{Withdrawn, "superseded by 0123abcd"}}, Withdraw},
		{"canceled by hand, found after a restart", Ending{Result: "canceled", Cancel: byHand}, Withdraw},
		{"finished before the cancel landed", Ending{Exited: true, Code: 0, Result: "success", Cancel: byHand}, Done},
		{"canceled before it started", Ending{Exited: true, Code: 1, Cancel: byHand}, Withdraw},
		{"canceled by hand, then the shutdown", Ending{Exited: true, Code: 143, Result: "canceled", Stopping: true, Cancel: byHand}, Withdraw},
		{"canceled by the shutdown", Ending{Exited: true, Code: 143, Result: "canceled", Stopping: true}, Requeue},
		{"SIGQUIT shutdown", Ending{Exited: true, Code: 131, Result: "canceled", Stopping: true}, Requeue},
		{"killed after the grace at shutdown", Ending{Exited: true, Signal: syscall.SIGKILL, Result: "running", Stopping: true}, Requeue},
		{"canceled by the shutdown, found after a restart", Ending{Result: "canceled", Cancel: stopped}, Requeue},
		{"killed after the grace at shutdown, found after a restart", Ending{Result: "running", Cancel: stopped}, Requeue},
		{"canceled by an operator, found after a restart", Ending{Result: "canceled"}, Withdraw},
		{"canceled by a signal from elsewhere", Ending{Exited: true, Code: 130}, Withdraw},
		{"canceled by a signal from elsewhere, recorded", Ending{Exited: true, Code: 143, Result: "canceled"}, Withdraw},
		{"infrastructure error", Ending{Exited: true, Code: 75}, Retry},
		{"its engine stopped answering", Ending{Exited: true, Code: 143, Result: "canceled", Cancel: Cancel{Interrupted, "the Docker engine b2 does not answer"}}, Retry},
		{"its engine stopped answering, then the shutdown", Ending{Exited: true, Code: 143, Result: "failed", Retry: true, Stopping: true, Cancel: Cancel{Interrupted, "x"}}, Retry},
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
		if got != Done && reason == "" {
			t.Errorf("%s: outcome %v without a reason", tc.name, got)
		}
	}
}

func TestRetryBackOffDoublesUpToTenMinutes(t *testing.T) {
	at := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	if !RetryAt(nil).IsZero() {
		t.Error("a job without attempts must not wait")
	}
	var attempts []spool.Attempt
	for i, d := range []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second} {
		attempts = WithAttempt(attempts, at, "x")
		if got := RetryAt(attempts).Sub(at); got != d {
			t.Errorf("after %d attempts the back-off is %v, want %v", i+1, got, d)
		}
	}
	for i := 0; i < 10; i++ {
		attempts = append(attempts, spool.Attempt{At: at, Reason: "x"})
	}
	if got := RetryAt(attempts).Sub(at); got != maxRetry {
		t.Errorf("the back-off grows to %v, want at most %v", got, maxRetry)
	}
}

// TestAJobMovedBackFromBadGetsOneMoreTry: the operator's way after fixing a fault.
func TestAJobMovedBackFromBadGetsOneMoreTry(t *testing.T) {
	at := time.Now().Add(-time.Hour)
	var attempts []spool.Attempt
	for i := 0; i < MaxAttempts; i++ {
		attempts = WithAttempt(attempts, at, "full disk")
	}
	if RetryAt(attempts).After(time.Now()) {
		t.Error("a job whose last attempt is long past must run at once")
	}
	attempts = WithAttempt(attempts, time.Now(), string(make([]byte, 10*maxReason)))
	if len(attempts) != MaxAttempts || len(attempts[MaxAttempts-1].Reason) > maxReason+len("…") {
		t.Errorf("attempts = %d, last reason %d bytes; want the last %d, each bounded", len(attempts), len(attempts[MaxAttempts-1].Reason), MaxAttempts)
	}
}
