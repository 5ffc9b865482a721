// Package recorded reads and writes the markers of commits recorded rather than built: with
// build_existing = False, the first poll of a project writes PROJECT/REF/SHORT.recorded for
// each ref the remote has then, and .first-poll once that poll is done (paths in workdir).
package recorded

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
	"pipelined/internal/workdir"
)

// Record is what a .recorded marker holds.
type Record struct {
	Project  string    `json:"project"`
	Ref      string    `json:"ref"`
	Commit   string    `json:"commit"`
	Recorded time.Time `json:"recorded"`
	Reason   string    `json:"reason"`
}

// Write writes the marker of r (creating the ref's directory), whole or not at all,
// honouring the umask.
func Write(l workdir.Layout, r Record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return writeWhole(l.RecordedPath(r.Project, r.Ref, r.Commit), append(data, '\n'))
}

// MarkPolled writes the project's PolledMarker.
func MarkPolled(l workdir.Layout, project string, at time.Time) error {
	return writeWhole(l.PolledMarker(project), []byte(at.UTC().Format(time.RFC3339)+"\n"))
}

// Polled reports whether the project's PolledMarker exists.
func Polled(l workdir.Layout, project string) bool {
	_, err := os.Lstat(l.PolledMarker(project))
	return err == nil
}

func writeWhole(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		return err
	}
	if err := atomicfile.Write(path, data, 0o666); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// maxSize bounds a marker: a build could have put anything in its ref's directory.
const maxSize = 4 << 10

// List reads the recorded markers of a ref directory, newest first. One that cannot be
// read is left out.
func List(refDir string) []Record {
	paths, _ := filepath.Glob(filepath.Join(refDir, "*"+workdir.RecordedSuffix))
	var out []Record
	for _, p := range paths {
		f, err := safeopen.Open(p, os.O_RDONLY, maxSize, false)
		if err != nil {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(f, maxSize))
		f.Close()
		var r Record
		if err == nil && json.Unmarshal(data, &r) == nil {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Recorded.After(out[j].Recorded) })
	return out
}
