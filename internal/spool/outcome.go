package spool

import (
	"strconv"
	"syscall"
	"time"

	"pipelined/internal/exitcode"
	"pipelined/internal/procexec"
)

// The outcome protocol of SPEC §5.1: a job file records that a build is wanted, and it is
// removed only when that want is met or withdrawn on purpose. Decide is its one table.

// Results a build records in build.json, as far as the protocol cares.
const (
	resultSuccess  = "success"
	resultFailed   = "failed"
	resultSkipped  = "skipped"
	resultCanceled = "canceled"
)

// Ending is what is known about a job's build once its process is gone.
type Ending struct {
	// Exited is true when the supervisor saw the process end and has its status; after a
	// restart (an adopted or recovered build) only the records are left.
	Exited bool
	Code   int            // exit status, when it exited on its own
	Signal syscall.Signal // the signal that killed it, or 0
	// Result is the result build.json records ("" when there is no build.json), and Retry
	// its flag for an infrastructure error that stopped the build.
	Result string
	Retry  bool
	// Withdrawn is why the build was canceled on purpose (by hand, or superseded), "" if
	// it was not.
	Withdrawn string
	// Stopping is true when the daemon was shutting down: whatever the build did not
	// finish is wanted again after the restart. Stopped is true when a daemon's shutdown
	// canceled the build (the marker beside its job, read after a restart).
	Stopping, Stopped bool
	// Interrupted is why the supervisor stopped the build for an infrastructure reason (its
	// Docker engine stopped answering), "" if it did not.
	Interrupted string
}

// Outcome is what becomes of a job file.
type Outcome int

const (
	Done      Outcome = iota // the build reached its own result: the job is removed
	Withdrawn                // canceled on purpose: the job is removed, the reason logged
	Requeue                  // canceled by a shutdown: back into new/, built again, no attempt counted
	Retry                    // an infrastructure error: back into new/ after a back-off, one attempt counted
)

func (o Outcome) String() string {
	return [...]string{"done", "withdrawn", "requeued", "retry"}[o]
}

// Decide returns what becomes of the job, and for Requeue and Retry a short reason.
func Decide(e Ending) (Outcome, string) {
	final := (e.Result == resultSuccess || e.Result == resultFailed || e.Result == resultSkipped) && !e.Retry
	canceled := e.Result == resultCanceled ||
		e.Exited && e.Signal == 0 && (e.Code == 128+int(syscall.SIGINT) || e.Code == 128+int(syscall.SIGTERM) || e.Code == 128+int(syscall.SIGQUIT))
	switch {
	case final:
		return Done, ""
	case e.Withdrawn != "":
		return Withdrawn, e.Withdrawn
	case e.Interrupted != "":
		return Retry, e.Interrupted
	case e.Exited && e.Signal == 0 && (e.Code == exitcode.OK || e.Code == exitcode.Failure):
		return Done, "" // the build says it reached a result, though build.json does not show it
	case e.Exited && e.Signal == 0 && e.Code == exitcode.Retry:
		return Retry, "an infrastructure error stopped the build"
	case e.Stopping || e.Stopped:
		return Requeue, "canceled because pipelined stopped"
	case canceled:
		// No daemon canceled it: an operator's kill -TERM, meant as a cancel (requeuing it
		// would start it again at once), whether a daemon watched the build or not.
		return Withdrawn, "canceled by a signal from outside pipelined"
	}
	return Retry, "the build process " + death(e)
}

// death says how a build process that did not report an outcome ended.
func death(e Ending) string {
	switch {
	case e.Exited && e.Signal != 0:
		return "was killed by " + procexec.SignalText(e.Signal)
	case e.Exited:
		return "ended with exit status " + strconv.Itoa(e.Code)
	default:
		return "is gone (it died while no pipelined watched it)"
	}
}

// MaxAttempts is how many attempts an infrastructure error may end before the job goes to
// bad/ with every attempt's reason.
const MaxAttempts = 5

// Back-off between attempts: firstRetry after the first, doubling, at most maxRetry.
const (
	firstRetry = 5 * time.Second
	maxRetry   = 10 * time.Minute
)

// RetryAt is when a job with attempts may run again: firstRetry after its last attempt,
// doubling with each attempt, at most maxRetry. A job without attempts may run at once.
func RetryAt(j Job) time.Time {
	n := len(j.Attempts)
	if n == 0 {
		return time.Time{}
	}
	delay := firstRetry
	for i := 1; i < n && delay < maxRetry; i++ {
		delay *= 2
	}
	return j.Attempts[n-1].At.Add(min(delay, maxRetry))
}
