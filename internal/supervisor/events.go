package supervisor

import (
	"syscall"

	"pipelined/internal/buildlog"
	"pipelined/internal/config"
	"pipelined/internal/outcome"
	"pipelined/internal/procexec"
	"pipelined/internal/spool"
)

// The events the machine decides on. The run loop turns signals, timers and file-system
// hints into events; every executor reports what it did as one. None carries a channel or a
// callback: an event is a fact.
type Event interface{ isEvent() }

// Signaled: the daemon got a signal.
type Signaled struct{ Sig syscall.Signal }

// Woke: a time the machine asked to be woken at has come (see Machine.Wake).
type Woke struct{}

// SpoolChanged: spool/new/ may have new files (an fsnotify hint, or the minute's rescan).
type SpoolChanged struct{ Rescan bool }

// ConfigChanged: the configuration file was written.
type ConfigChanged struct{}

// Scanned is a view of spool/new/: the valid jobs in FIFO order. Seq is the machine's count
// of spool changes when the scan was asked for; a scan that raced a change is stale.
type Scanned struct {
	Seq   int
	Queue []Queued
	// Canceled are the cancel records beside the claimed jobs: `pipelined cancel` writes
	// them without telling the daemon.
	Canceled map[string]outcome.Cancel
	Err      error
	// Young is set when a file that is not (yet) a valid job was left for a moment: a
	// writer that ignores the maildir rule may still be writing it.
	Young bool
}

// Queued is a job file in spool/new/ as a scan read it.
type Queued struct {
	Name string
	Job  spool.Job
	// BuiltBy is the directory of a build of the job's commit that met its want already
	// (see scanner.builtBy): the job is moot.
	BuiltBy string
}

// Recovered is what a previous daemon left in spool/cur/: jobs whose build still runs
// (adopt them) and jobs whose build is gone (decide them like any ended build).
type Recovered struct{ Jobs []Claimed }

// Claimed is one job recovery found in spool/cur/.
type Claimed struct {
	Name    string
	Job     spool.Job
	Running bool  // a build holds the job: adopt it
	Facts   Facts // when not running
	Bad     string
	Status  *buildlog.Status // of its latest attempt, if any
	// Group is the running build's process group when it has no status yet (it still
	// resolves its commit): found by its command line.
	Group procexec.Group
}

// BuildStarted: pipeline-build runs for a job, claimed as Name.
type BuildStarted struct {
	ID    int
	Name  string
	Group procexec.Group
}

// BuildNotStarted: the job could not be claimed (Claim: it stays in new/), or
// pipeline-build could not be started (the job is back in new/). Gone is set when the job
// was not there to claim: someone else took it.
type BuildNotStarted struct {
	ID    int
	Err   error
	Gone  bool
	Claim bool
}

// BuildEnded: a build's process is gone; Facts is what its records say.
type BuildEnded struct {
	ID    int
	Facts Facts
}

// Facts is what is known of a build once its process is gone, read by the executor that
// waited for it: how it ended, its cancel record and its build.json.
type Facts struct {
	outcome.Ending
	Dir    string
	Status *buildlog.Status // nil when there is no build.json
	Stderr string           // the end of pipeline-build's stderr
}

// CancelRecorded: a cancel record was written (or could not be) and the build signaled.
type CancelRecorded struct {
	ID   int
	Kind outcome.Kind
	Err  error
}

// JobSettled: an outcome was carried out on a job file (or could not be). Queued is the
// job's name in new/ after a requeue or retry; InCur that it is still in cur/.
type JobSettled struct {
	Name      string
	Outcome   outcome.Outcome
	Queued    string
	Err       error
	InCur     bool
	Dest      string // where a job set aside went
	RecordErr error  // writing the dead build's build.json failed
}

// Reloaded is a configuration loaded again; Cfg is nil when the file is invalid.
// Unchanged is set when the file says what the configuration in force says.
type Reloaded struct {
	Why       string
	Cfg       *config.Config
	Err       error
	Unchanged bool
}

// EngineAnswered is what one `docker version` said: a probe of an engine out of the pool,
// or a check of one that builds run on.
type EngineAnswered struct {
	Name  string
	Err   error
	Check bool
}

// PollRequested: the poll requests of `pipelined poll` were read; Projects names the
// projects asked for, none for every one.
type PollRequested struct{ Projects map[string]bool }

// PassEnded: a pass of pipeline-watch --once ended.
type PassEnded struct {
	ID  int
	Err error
}

// RemoteDone: a pass that still runs is done with the remotes whose polling.Key are Keys.
type RemoteDone struct {
	ID   int
	Keys []string
}

// StatusQueued: a forge status record of the daemon's is in the outbox (or could not be
// written, which the executor logged).
type StatusQueued struct{}

// DeliveryEnded: pipeline-build --deliver ended; Err when it could not run or failed.
type DeliveryEnded struct{ Err error }

func (StatusQueued) isEvent()    {}
func (DeliveryEnded) isEvent()   {}
func (Signaled) isEvent()        {}
func (Woke) isEvent()            {}
func (SpoolChanged) isEvent()    {}
func (ConfigChanged) isEvent()   {}
func (Scanned) isEvent()         {}
func (Recovered) isEvent()       {}
func (BuildStarted) isEvent()    {}
func (BuildNotStarted) isEvent() {}
func (BuildEnded) isEvent()      {}
func (CancelRecorded) isEvent()  {}
func (JobSettled) isEvent()      {}
func (Reloaded) isEvent()        {}
func (EngineAnswered) isEvent()  {}
func (PollRequested) isEvent()   {}
func (PassEnded) isEvent()       {}
func (RemoteDone) isEvent()      {}
