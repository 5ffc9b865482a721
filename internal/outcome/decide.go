package outcome

import (
	"syscall"
	"time"

	"pipelined/internal/exitcode"
	"pipelined/internal/procexec"
)

// Ending is what is known about a job's build once its process is gone.
type Ending struct {
	// Exited is true when the daemon saw the process end and has its status; after a
	// restart (an adopted or recovered build) only the records are left.
	Exited bool
	Code   int            // exit status, when it exited on its own
	Signal syscall.Signal // the signal that killed it, or 0
	// Result is the result build.json records ("" when there is no build.json), and Retry
	// its flag for an infrastructure error that stopped the build.
	Result string
	Retry  bool
	// Cancel is the build's cancel record, the stronger of the one on disk and the one the
	// daemon issued itself.
	Cancel Cancel
	// Stopping is true when the daemon was shutting down: whatever the build did not
	// finish is wanted again after the restart.
	Stopping bool
}

// Outcome is what becomes of a job file.
type Outcome int

const (
	Done     Outcome = iota // the build reached its own result: the job is removed
	Withdraw                // canceled on purpose: the job is removed, the reason logged
	Requeue                 // canceled by a shutdown: back into new/, built again, no attempt counted
	Retry                   // an infrastructure error: back into new/ after a back-off, one attempt counted
)

func (o Outcome) String() string {
	return [...]string{"done", "withdrawn", "requeued", "retry"}[o]
}

// Decide returns what becomes of the job, and for every outcome but Done a short reason.
// A build's own result wins over any cancel that arrived meanwhile: a success_callback that
// ignored SIGTERM and exited 0 succeeded, and its job is done.
func Decide(e Ending) (Outcome, string) {
	canceled := e.Result == Canceled || e.Exited && e.Signal == 0 && isCancelStatus(e.Code)
	switch {
	case Final(e.Result, e.Retry):
		return Done, ""
	case e.Cancel.Kind == Withdrawn:
		return Withdraw, e.Cancel.Reason
	case e.Cancel.Kind == Interrupted:
		return Retry, e.Cancel.Reason
	case e.Exited && e.Signal == 0 && (e.Code == exitcode.OK || e.Code == exitcode.Failure):
		return Done, "" // the build says it reached a result, though build.json does not show it
	case e.Exited && e.Signal == 0 && e.Code == exitcode.Retry:
		return Retry, "an infrastructure error stopped the build"
	case e.Stopping || e.Cancel.Kind == Stopped:
		return Requeue, "canceled because pipelined stopped"
	case canceled:
		// No daemon canceled it: an operator's kill -TERM, meant as a cancel (requeuing it
		// would start it again at once), whether a daemon watched the build or not.
		return Withdraw, "canceled by a signal from outside pipelined"
	}
	return Retry, "the build process " + death(e)
}

// isCancelStatus reports whether an exit status is pipeline-build's for SIGINT, SIGTERM or
// SIGQUIT (SPEC §7.4).
func isCancelStatus(code int) bool {
	return code == 128+int(syscall.SIGINT) || code == 128+int(syscall.SIGTERM) || code == 128+int(syscall.SIGQUIT)
}

// death says how a build process that did not report an outcome ended.
func death(e Ending) string {
	switch {
	case e.Exited:
		return procexec.EndedText(e.Code, e.Signal)
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
