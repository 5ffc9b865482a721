package buildlog

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"
)

// Results of a build (SPEC §5).
const (
	Running  = "running"
	Success  = "success"
	Failed   = "failed"
	Canceled = "canceled"
	Skipped  = "skipped"
)

// Status is the content of build.json.
type Status struct {
	Project     string    `json:"project"`
	Ref         string    `json:"ref"`
	Commit      string    `json:"commit"`
	ShortCommit string    `json:"short_commit"`
	Job         string    `json:"job,omitempty"`    // job file name when run by the supervisor
	Source      string    `json:"source,omitempty"` // who asked for the build
	Path        string    `json:"path"`             // build directory (".tmp" while running)
	PID         int       `json:"pid"`              // pipeline-build's process id
	Result      string    `json:"result"`           // running|success|failed|canceled|skipped
	Reason      string    `json:"reason,omitempty"` // why it failed, was canceled or skipped
	FailedStep  string    `json:"failed_step,omitempty"`
	Image       string    `json:"image,omitempty"`     // image id from docker build --iidfile
	Container   string    `json:"container,omitempty"` // container name of the run step
	Started     time.Time `json:"started"`
	Finished    time.Time `json:"finished,omitzero"`
	Seconds     float64   `json:"duration_seconds,omitempty"`
	Steps       []Command `json:"steps"`
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

// Save writes the status to path atomically (a temporary file, then a rename), so that a
// reader never sees half of it.
func (s *Status) Save(path string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".build.json.*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o666 &^ umask()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// LoadStatus reads a build.json.
func LoadStatus(path string) (*Status, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Status
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	return &s, nil
}
