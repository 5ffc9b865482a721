package outcome

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"pipelined/internal/atomicfile"
	"pipelined/internal/safeopen"
	"pipelined/internal/spool"
)

// Kind is why a build was canceled, in rank order: a cancel record is only ever replaced by
// one of a higher kind. An operator's cancel wins over everything, so that a shutdown that
// follows it does not bring the build back; a fault wins over a shutdown, as both keep the
// job and the fault counts an attempt.
type Kind int

const (
	NotCanceled Kind = iota
	// Stopped: the daemon's shutdown canceled the build; the job is built again.
	Stopped
	// Interrupted: the daemon stopped the build for an infrastructure fault (its Docker
	// engine stopped answering); the job is retried with back-off.
	Interrupted
	// Withdrawn: canceled on purpose, by hand or superseded by a newer commit; the job is
	// removed.
	Withdrawn
)

var kindNames = [...]string{"", "stopped", "interrupted", "withdrawn"}

func (k Kind) String() string { return kindNames[k] }

// Cancel is a cancel record: its kind and the reason build.json and the log give.
type Cancel struct {
	Kind   Kind
	Reason string
}

// StoppedReason is why a build canceled by the daemon's shutdown was canceled.
const StoppedReason = "canceled because pipelined stopped; it is built again at the next start"

// The cancel record of a job is ".NAME.cancel" beside the job file in spool/cur/; a build
// run by hand (no job) has ".cancel" in its build directory. It outlives the build and the
// daemon, so that a daemon started later still honours it.

// CancelPath is the path of the cancel record of the job file at jobPath.
func CancelPath(jobPath string) string {
	return filepath.Join(filepath.Dir(jobPath), "."+filepath.Base(jobPath)+".cancel")
}

// BuildCancelPath is the path of the cancel record of a build run by hand.
func BuildCancelPath(buildDir string) string { return filepath.Join(buildDir, ".cancel") }

// maxCancelRecord bounds a record and the reason in it.
const maxCancelRecord = 2048

type cancelFile struct {
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// WriteCancel records c at path unless a record of the same or a higher kind is there, and
// reports whether it wrote. Writers (the daemon, `pipelined cancel`) serialize on a lock of
// the record itself; the record is replaced whole, so readers need no lock.
func WriteCancel(path string, c Cancel) (bool, error) {
	if len(c.Reason) > maxCancelRecord/2 {
		c.Reason = strings.ToValidUTF8(c.Reason[:maxCancelRecord/2], "") + "…"
	}
	data, _ := json.Marshal(cancelFile{Kind: c.Kind.String(), Reason: c.Reason})
	for {
		fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o666)
		if err != nil {
			return false, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		f := os.NewFile(uintptr(fd), path)
		if err := spool.LockWait(f); err != nil {
			f.Close()
			return false, err
		}
		// A writer before us may have replaced the file between our open and our lock: the
		// lock is then on a file nobody reads any more.
		if now, err := os.Lstat(path); err != nil || !sameFile(f, now) {
			f.Close()
			continue
		}
		old := ReadCancel(path)
		if old.Kind >= c.Kind {
			f.Close()
			return false, nil
		}
		err = atomicfile.WriteSynced(path, append(data, '\n'), 0o666)
		f.Close()
		return err == nil, err
	}
}

func sameFile(f *os.File, info os.FileInfo) bool {
	mine, err := f.Stat()
	return err == nil && os.SameFile(mine, info)
}

// ReadCancel returns the cancel record at path; its Kind is NotCanceled when there is none.
// It never blocks and never follows a link. Records of earlier versions (one marker
// file per kind) are read too, so that an upgrade by restart honours the shutdown's markers.
func ReadCancel(path string) Cancel {
	c, err := readCancel(path)
	if errors.Is(err, fs.ErrNotExist) {
		return readLegacy(path)
	}
	return c
}

func readCancel(path string) (Cancel, error) {
	f, err := safeopen.Open(path, unix.O_RDONLY, maxCancelRecord, false)
	if err != nil {
		return Cancel{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCancelRecord))
	if err != nil || len(data) == 0 {
		return Cancel{}, nil // being created by a writer: nothing recorded yet
	}
	var rec cancelFile
	if json.Unmarshal(data, &rec) != nil {
		// Not ours to read: treat it as the weakest cancel that keeps the job, never as
		// a withdrawal that would lose it.
		return Cancel{Kind: Stopped, Reason: StoppedReason}, nil
	}
	for k := Stopped; k <= Withdrawn; k++ {
		if rec.Kind == k.String() {
			if rec.Reason == "" {
				rec.Reason = "canceled"
			}
			return Cancel{Kind: k, Reason: rec.Reason}, nil
		}
	}
	return Cancel{Kind: Stopped, Reason: StoppedReason}, nil
}

// readLegacy reads the markers of older versions: ".NAME.withdrawn", ".NAME.interrupted"
// and ".NAME.stopped" beside a job, ".withdrawn" in a build directory.
func readLegacy(path string) Cancel {
	base := strings.TrimSuffix(path, "cancel")
	for k := Withdrawn; k >= Stopped; k-- {
		f, err := safeopen.Open(base+k.String(), unix.O_RDONLY, maxCancelRecord, false)
		if err != nil {
			continue
		}
		data, _ := io.ReadAll(io.LimitReader(f, maxCancelRecord))
		f.Close()
		reason := strings.TrimSpace(string(data))
		if reason == "" {
			reason = "canceled"
		}
		return Cancel{Kind: k, Reason: reason}
	}
	return Cancel{}
}

// removeCancel removes a job's cancel record (and any of an older version's markers) once
// the job has left spool/cur/.
func removeCancel(jobPath string) {
	path := CancelPath(jobPath)
	os.Remove(path)
	base := strings.TrimSuffix(path, "cancel")
	for k := Stopped; k <= Withdrawn; k++ {
		os.Remove(base + k.String())
	}
}
