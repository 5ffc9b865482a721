package buildlog

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"pipelined/internal/atomicfile"
	"pipelined/internal/outcome"
	"pipelined/internal/procexec"
	"pipelined/internal/safeopen"
	"pipelined/internal/workdir"
)

// Status is the content of build.json.
type Status struct {
	Project     string `json:"project"`
	Ref         string `json:"ref"`
	Commit      string `json:"commit"`
	ShortCommit string `json:"short_commit"`
	// TagObject is, for an annotated tag, the tag object the ref names (its job's commit and
	// its directory's name); Commit is then the commit it tags, which was checked out.
	TagObject string `json:"tag_object,omitempty"`
	Subject   string `json:"subject,omitempty"` // the checked-out commit's subject line
	Job       string `json:"job,omitempty"`     // job file name when run by the supervisor
	Source    string `json:"source,omitempty"`  // who asked for the build
	Path      string `json:"path"`              // build directory (".tmp" while running)
	PID       int    `json:"pid"`               // pipeline-build's process id
	// PIDStart is when that process started (clock ticks since boot): with PID, it tells a
	// build that still runs from a later process that got the same pid.
	PIDStart uint64 `json:"pid_start,omitempty"`
	// Groups are the process groups of the commands running now. Should pipeline-build
	// die, the supervisor kills what is left of them (SPEC §8: no process outlives its build).
	Groups []procexec.Group `json:"groups,omitempty"`
	Result string           `json:"result"`           // running|success|failed|canceled|skipped
	Reason string           `json:"reason,omitempty"` // why it failed, was canceled or skipped
	// Retry marks a build that an infrastructure error stopped (a full disk, an engine that
	// does not answer) before it reached a result of its own: its job is tried again.
	Retry      bool   `json:"retry,omitempty"`
	FailedStep string `json:"failed_step,omitempty"`
	Image      string `json:"image,omitempty"`       // image id from docker build --iidfile
	Tag        string `json:"tag,omitempty"`         // the image tag docker build gave it (the key tag), as docker lists it
	Engine     string `json:"engine,omitempty"`      // the Docker engine it ran on (--engine)
	DockerHost string `json:"docker_host,omitempty"` // that engine's DOCKER_HOST, "" for the environment's
	// EngineDown marks a build its Docker engine failed: the engine, not the project.
	EngineDown bool      `json:"engine_down,omitempty"`
	Container  string    `json:"container,omitempty"` // container name of the run step
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished,omitzero"`
	Seconds    float64   `json:"duration_seconds,omitempty"`
	Steps      []Command `json:"steps"`

	// FailedOutput is the last lines the failing command of FailedStep printed (bounded by
	// TailLines and TailBytes, secret values masked): the error itself, where Reason only
	// says "rsync exited with status 11".
	FailedOutput []string `json:"failed_output,omitempty"`
	// CommitURL links the commit on the status pages (the key commit_url), "" for none.
	CommitURL string `json:"commit_url,omitempty"`
}

// Command is one command a step ran.
type Command struct {
	Step     string    `json:"step"`
	Argv     []string  `json:"argv"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Exit     int       `json:"exit"`    // -1 when it did not exit on its own
	Outcome  string    `json:"outcome"` // "exit 0", "timed out", "canceled", …
	TimedOut bool      `json:"timed_out,omitempty"`
}

// Save writes the status to path whole or not at all (atomicfile), readable as the
// operator's umask allows (SPEC §5), like build.log.
func (s *Status) Save(path string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(data, '\n'), 0o666)
}

// maxStatusSize bounds a build.json: a build of a few hundred commands takes a few
// hundred kilobytes.
const maxStatusSize = 16 << 20

// LoadStatus reads a build.json. Builds run the operator's (and the remote's) commands in the
// work directory, so the file is opened the careful way: a FIFO or a device put in its place
// is refused rather than waited on, and so is one of absurd size.
func LoadStatus(path string) (*Status, error) {
	f, err := safeopen.Open(path, os.O_RDONLY, maxStatusSize, false)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStatusSize))
	if err != nil {
		return nil, err
	}
	var s Status
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Alive reports whether the pipeline-build process that writes this status still runs.
// A status without a start time (an older build.json) is judged by its pid alone.
func (s *Status) Alive() bool {
	if s.PIDStart != 0 {
		return procexec.Alive(s.PID, s.PIDStart)
	}
	return s.PID > 0 && syscall.Kill(s.PID, 0) == nil
}

// Final reports whether the build reached a result of its own.
func (s *Status) Final() bool {
	return outcome.Final(s.Result, s.Retry)
}

// JobCommit is the commit the build's job asked for: the tag object of an annotated tag,
// else the commit.
func (s *Status) JobCommit() string {
	if s.TagObject != "" {
		return s.TagObject
	}
	return s.Commit
}

// LatestOfJob finds, among the build directories of one ref, the latest attempt of the job
// file name that started at or after since (the claim of the job: see
// outcome.Jobs.ClaimedAt; zero for any): a job retried after an infrastructure error or a
// shutdown has one build directory per attempt, and only the newest says how the last one
// went, while a build of an earlier job of the same name is none of this job's. It returns
// "" and nil if there is none.
func LatestOfJob(refDir, name string, since time.Time) (string, *Status) {
	var dir string
	var latest *Status
	for _, d := range workdir.BuildDirs(refDir) {
		st, err := LoadStatus(filepath.Join(d, "build.json"))
		if err == nil && st.Job == name && !st.Started.Before(since) && (latest == nil || st.Started.After(latest.Started)) {
			dir, latest = d, st
		}
	}
	return dir, latest
}

// MetBy returns the directory of a build of commit among the builds of one ref that met
// the want of the job file name, written (queued) at queued, already: a build that reached a
// result of its own (success, failed, skipped; a canceled build met nothing) and is not one
// of this job's own attempts (a build recorded under its name that started after it was
// queued). A build under the same name that started before the file was written was an
// earlier job's, one a webhook that names its files the same way each time delivered: it
// counts like any other. A job that asks for a rebuild is met only by a build that started
// after it was queued. "" if none (SPEC §5: a commit that is built is not built again
// unless a job asks for a rebuild).
func MetBy(refDir, commit, name string, queued time.Time, rebuild bool) string {
	short := commit
	if len(short) > 8 {
		short = short[:8]
	}
	for _, dir := range workdir.BuildDirs(refDir) {
		if !strings.HasPrefix(filepath.Base(dir), short) {
			continue
		}
		st, err := LoadStatus(filepath.Join(dir, "build.json"))
		// A directory without a readable status is a build that failed to start (a full
		// disk): it built nothing.
		if err != nil || st.JobCommit() != commit || !st.Final() {
			continue
		}
		own := st.Job == name && !st.Started.Before(queued)
		if !own && (!rebuild || st.Started.After(queued)) {
			return dir
		}
	}
	return ""
}
