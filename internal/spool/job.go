package spool

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"pipelined/internal/refname"
	"pipelined/internal/workdir"
)

// Job is one job file (SPEC §5): which project, ref and (optionally) commit to build. A job
// never names a remote: that always comes from the configuration.
type Job struct {
	Project string    `json:"project"`
	Ref     string    `json:"ref"`
	Commit  string    `json:"commit,omitempty"` // "" resolves the ref when the build starts
	Source  string    `json:"source,omitempty"` // who wrote it: watch, webhook, manual, …
	Created time.Time `json:"created,omitzero"`
	// Rebuild asks for a build even when the commit is built already or queued: without
	// it, a redelivered webhook or a repeated enqueue costs nothing (SPEC §5).
	Rebuild bool `json:"rebuild,omitempty"`
	// Attempts are the earlier tries that an infrastructure error ended (SPEC §5.1). Only
	// the daemon records them, beside the job in spool/attempts/, never in the job file.
	Attempts []Attempt `json:"-"`
	// Ignored names the fields of the file that only pipelined may write, which were
	// ignored; the reader says so.
	Ignored []string `json:"-"`
}

// daemonOnly are the fields pipelined writes itself, which a job file may not set. Older
// versions kept a job's attempts in its file: such a file is built once more, not refused.
var daemonOnly = []string{"attempts"}

// Attempt is one try of a job that did not reach a result of its own.
type Attempt struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// MaxJobSize bounds a job file; a real one is about 200 bytes.
const MaxJobSize = 4096

// Sources writers use. Others are accepted if they are a short lower-case word.
const (
	SourceWatch   = "watch"
	SourceWebhook = "webhook"
	SourceManual  = "manual"
)

var sourcePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// RejectError says why a job file was refused; the reason goes into its .reason file.
type RejectError struct{ Reason string }

func (e *RejectError) Error() string { return e.Reason }

func reject(format string, args ...any) error {
	return &RejectError{fmt.Sprintf(format, args...)}
}

// Validate checks a job's fields: a safe project name, a branch or tag ref that git accepts
// and that cannot pass for an option, a full lower-case commit id if any (SPEC §9).
func (j Job) Validate() error {
	if !workdir.ValidProjectName(j.Project) {
		return reject("project %q is not a valid project name", j.Project)
	}
	if err := refname.CheckRef(j.Ref); err != nil {
		return reject("%v", err)
	}
	if j.Commit != "" && !refname.ValidCommit(j.Commit) {
		return reject("commit %q is not 40 or 64 lower-case hex digits", j.Commit)
	}
	if j.Source != "" && !sourcePattern.MatchString(j.Source) {
		return reject("source %q is not a short lower-case word", j.Source)
	}
	return nil
}

// ValidSource reports whether s may be a job's source: a short lower-case word.
func ValidSource(s string) bool { return sourcePattern.MatchString(s) }

// Key identifies what a job builds, for "not twice at a time" (SPEC §5).
func (j Job) Key() string { return j.Project + "\x00" + j.Ref + "\x00" + j.Commit }

// DecodeJob reads and validates a job file's content. Anything wrong with it is a
// *RejectError: the file is not JSON, is too large, has keys it should not, lacks one it
// needs, or a field fails [Job.Validate].
func DecodeJob(r io.Reader) (Job, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxJobSize+1))
	if err != nil {
		return Job{}, err
	}
	if len(data) > MaxJobSize {
		return Job{}, reject("the file is larger than %d bytes", MaxJobSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f struct {
		Job
		Attempts json.RawMessage `json:"attempts"`
	}
	if err := dec.Decode(&f); err != nil {
		return Job{}, reject("not a job: %v", err)
	}
	j := f.Job
	if f.Attempts != nil {
		j.Ignored = daemonOnly
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Job{}, reject("not a job: more than one JSON value")
	}
	if j.Project == "" || j.Ref == "" {
		return Job{}, reject(`not a job: "project" and "ref" are required`)
	}
	return j, j.Validate()
}

// Encode writes the job as one line of JSON.
func (j Job) Encode() []byte {
	data, _ := json.Marshal(j)
	return append(data, '\n')
}
