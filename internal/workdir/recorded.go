package workdir

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"pipelined/internal/atomicfile"
	"pipelined/internal/safeopen"
)

// RecordedSuffix ends the name of the marker of a commit that was recorded rather than
// built: with build_existing = False, the first poll of a project writes
// PROJECT/REF/SHORT.recorded for each ref the remote has then. It is a regular file, so
// nothing that lists builds (retention, prune, the pages, recovery) takes it for one and
// nothing removes it as one; Existing finds it, so the watcher does not build that commit.
// Deleting it lets the commit be built, as deleting a build directory does.
const RecordedSuffix = ".recorded"

// PolledMarker is the file that says a project with build_existing = False has had its
// first poll: from then on, what the watcher finds new is built.
func (l Layout) PolledMarker(project string) string {
	return filepath.Join(l.ProjectDir(project), ".first-poll")
}

// Record is what a .recorded marker holds.
type Record struct {
	Project  string    `json:"project"`
	Ref      string    `json:"ref"`
	Commit   string    `json:"commit"`
	Recorded time.Time `json:"recorded"`
	Reason   string    `json:"reason"`
}

// RecordedPath is the marker of a recorded commit of a ref.
func (l Layout) RecordedPath(project, ref, commit string) string {
	return filepath.Join(l.RefDir(project, ref), ShortCommit(commit)+RecordedSuffix)
}

// WriteRecord writes the marker of r (creating the ref's directory), whole or not at all,
// honouring the umask.
func (l Layout) WriteRecord(r Record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return writeWhole(l.RecordedPath(r.Project, r.Ref, r.Commit), append(data, '\n'))
}

// MarkPolled writes the project's PolledMarker.
func (l Layout) MarkPolled(project string, at time.Time) error {
	return writeWhole(l.PolledMarker(project), []byte(at.UTC().Format(time.RFC3339)+"\n"))
}

// Polled reports whether the project's PolledMarker exists.
func (l Layout) Polled(project string) bool {
	_, err := os.Lstat(l.PolledMarker(project))
	return err == nil
}

func writeWhole(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		return err
	}
	// A temporary file of a unique name: a fixed one in a ref's directory, which a build
	// could reach, might be a FIFO that blocks the open for ever.
	if err := atomicfile.Write(path, data, 0o666); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// maxRecordSize bounds a marker: a build could have put anything in its ref's directory.
const maxRecordSize = 4 << 10

// Records reads the recorded markers of a ref directory, newest first. One that cannot be
// read is left out.
func Records(refDir string) []Record {
	paths, _ := filepath.Glob(filepath.Join(refDir, "*"+RecordedSuffix))
	var out []Record
	for _, p := range paths {
		f, err := safeopen.Open(p, os.O_RDONLY, maxRecordSize, false)
		if err != nil {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(f, maxRecordSize))
		f.Close()
		var r Record
		if err == nil && json.Unmarshal(data, &r) == nil {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Recorded.After(out[j].Recorded) })
	return out
}
