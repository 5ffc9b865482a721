package supervisor

import (
	"log/slog"
	"syscall"

	"pipelined/internal/buildlog"
	"pipelined/internal/engine"
	"pipelined/internal/forge"
	"pipelined/internal/outcome"
	"pipelined/internal/procexec"
	"pipelined/internal/retention"
	"pipelined/internal/spool"
)

// The effects the machine asks for. The run loop carries out those that cannot block (a log
// line goes to an asynchronous logger, a signal is a system call) and hands every other one
// to an executor, which reports back with an event.
type Effect interface{ isEffect() }

// Log writes one log line.
type Log struct {
	Level slog.Level
	Msg   string
	Attrs []any
}

// Notify tells systemd the daemon's state (sd_notify).
type Notify struct{ State []string }

// Scan asks for a view of spool/new/ (a Scanned event).
type Scan struct{ Seq int }

// Recover asks what a previous daemon left in spool/cur/ (a Recovered event).
type Recover struct{}

// StartBuild claims a queued job and starts pipeline-build for it (BuildStarted, or
// BuildNotStarted with the job back in new/).
type StartBuild struct {
	ID     int
	Name   string // in new/
	Job    spool.Job
	Engine engine.Engine // Name "" for a project without Docker
}

// Adopt waits for a build a previous daemon started, which still holds its job.
type Adopt struct {
	ID   int
	Name string
	Job  spool.Job
}

// CancelBuild records why a build is canceled beside its job, then signals it: SIGTERM to
// its process group (the daemon's own builds through their context).
type CancelBuild struct {
	ID     int
	Name   string
	Group  procexec.Group
	Cancel outcome.Cancel
}

// KillGroups kills process groups: builds still running after their grace, and at the exit
// deadline whatever is left of every build.
type KillGroups struct {
	Groups []procexec.Group
	Signal syscall.Signal
	// Leftovers also kills what the builds' steps started (recorded process groups, and
	// processes by their BUILD_RUN_PATH), off the loop.
	Leftovers []Leftover
}

// Leftover is a build whose steps' processes are to be killed.
type Leftover struct {
	Name string
	Job  spool.Job
}

// Settle carries out an outcome on a claimed job — a JobSettled event: remove it (Done,
// Withdraw), put it back (Requeue), or record an attempt and put it back (Retry), or after
// outcome.MaxAttempts set it aside with every attempt's reason. Dead, when set, is the
// build.json of a build that died before it recorded a result, written first.
type Settle struct {
	Name     string
	Outcome  outcome.Outcome
	Job      spool.Job // for Retry: pinned to the commit its first attempt resolved
	Attempts []spool.Attempt
	Dead     *RecordDeadBuild
	// RemoveContainers removes what the dead build left on its Docker engine.
	RemoveContainers bool
	// Again marks a try after one that failed (see retryStuck); Recorded and Moved say
	// what the earlier tries carried out already.
	Again, Recorded, Moved bool
}

// SetAside moves a file to bad/ with the reason beside it.
type SetAside struct {
	Sub, Name, Reason string
	Job               spool.Job // for the log line; zero for a file that is no job
}

// Drop removes a queued job whose want is met or moot.
type Drop struct {
	Name   string
	Job    spool.Job
	Reason string
}

// RecordDeadBuild is the build.json of a build whose process died before it recorded a
// result, as it is to be written.
type RecordDeadBuild struct {
	Dir    string
	Status *buildlog.Status
}

// Reload loads the configuration file again (a Reloaded event).
type Reload struct{ Why string }

// AskEngine asks an engine `docker version` (an EngineAnswered event).
type AskEngine struct {
	Engine engine.Engine
	Check  bool
}

// CleanEngine removes the containers on an engine that no running build owns.
type CleanEngine struct {
	Engine  engine.Engine
	Running []string // job names of the running builds
}

// PublishEngines makes the engines' state readable by `pipelined status`.
type PublishEngines struct{ States []engine.State }

// StartPass runs pipeline-watch --once over the remotes of Projects (every project when
// All): a PassEnded event.
type StartPass struct {
	ID       int
	Projects []string
	All      bool
}

// StopPasses stops the running passes (a drain or a shutdown).
type StopPasses struct{}

// TakePollRequests reads and removes the poll requests of `pipelined poll` (a
// PollRequested event).
type TakePollRequests struct{}

// Prune applies a project's retention to a ref after one of its builds ended (Done: that
// build's directory, which is never removed).
type Prune struct {
	Project, Ref, Done string
	Policy             retention.Policy
}

// RefreshPages asks for the status pages to be written again.
type RefreshPages struct{}

// QueueStatus writes one of the daemon's own forge status records into the outbox (a
// StatusQueued event).
type QueueStatus struct{ Record forge.Record }

// StartDelivery runs pipeline-build --deliver over the outbox (a DeliveryEnded event).
type StartDelivery struct{}

// StopDelivery stops the running delivery: the daemon is ending.
type StopDelivery struct{}

// CheckOutbox looks whether statuses wait in the outbox (a StatusQueued event if so): those
// of a pipeline-build run by hand beside the daemon, which leaves them to it.
type CheckOutbox struct{}

// FreeMemory hands back to the system what a burst of work took.
type FreeMemory struct{}

func (Log) isEffect()              {}
func (Notify) isEffect()           {}
func (Scan) isEffect()             {}
func (Recover) isEffect()          {}
func (StartBuild) isEffect()       {}
func (Adopt) isEffect()            {}
func (CancelBuild) isEffect()      {}
func (KillGroups) isEffect()       {}
func (Settle) isEffect()           {}
func (SetAside) isEffect()         {}
func (Drop) isEffect()             {}
func (Reload) isEffect()           {}
func (AskEngine) isEffect()        {}
func (CleanEngine) isEffect()      {}
func (PublishEngines) isEffect()   {}
func (StartPass) isEffect()        {}
func (StopPasses) isEffect()       {}
func (TakePollRequests) isEffect() {}
func (Prune) isEffect()            {}
func (RefreshPages) isEffect()     {}
func (FreeMemory) isEffect()       {}
func (QueueStatus) isEffect()      {}
func (StartDelivery) isEffect()    {}
func (StopDelivery) isEffect()     {}
func (CheckOutbox) isEffect()      {}
