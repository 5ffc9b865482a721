package spool

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Subdirectories of the spool.
const (
	Tmp = "tmp" // being written
	New = "new" // queued, in FIFO order
	Cur = "cur" // claimed: a build runs (or ran) it
	Bad = "bad" // refused, each with NAME.reason
)

// ErrClaimed means another claimer renamed the job first; it is not a failure.
var ErrClaimed = errors.New("job already claimed")

// Spool is a spool directory.
type Spool struct {
	dir string
}

// Open returns the spool at dir, creating its subdirectories as needed.
func Open(dir string) (*Spool, error) {
	for _, sub := range []string{Tmp, New, Cur, Bad} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o777); err != nil {
			return nil, fmt.Errorf("creating the spool: %w", err)
		}
	}
	return &Spool{dir: dir}, nil
}

// Path returns the path of a file in a subdirectory.
func (s *Spool) Path(sub, name string) string { return filepath.Join(s.dir, sub, name) }

// Write delivers a job: a unique file in tmp/, synced, renamed into new/, and new/ synced,
// so that the job survives a crash the moment Write returns. It returns the file's name.
func (s *Spool) Write(j Job) (string, error) {
	if err := j.Validate(); err != nil {
		return "", err
	}
	if j.Created.IsZero() {
		j.Created = time.Now().UTC()
	}
	name, err := uniqueName()
	if err != nil {
		return "", err
	}
	if err := s.deliver(name, j, time.Time{}); err != nil {
		return "", fmt.Errorf("writing a job: %w", err)
	}
	return name, nil
}

// deliver writes j as tmp/name, synced, and renames it into new/name, which it replaces.
// A non-zero mtime is given to the file, so that it keeps its place in the queue.
func (s *Spool) deliver(name string, j Job, mtime time.Time) error {
	tmp := s.Path(Tmp, name)
	// A file of this name in tmp/ is one this spool left (a crash mid-rewrite): the names
	// are unique, so it is ours to replace.
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return err
	}
	_, err = f.Write(j.Encode())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && !mtime.IsZero() {
		err = os.Chtimes(tmp, mtime, mtime)
	}
	if err == nil {
		err = os.Rename(tmp, s.Path(New, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Join(s.dir, New))
}

// uniqueName is "<unix nanoseconds>.<pid>.<random>.job": unique without coordination, and
// sorting by name is sorting by time of writing.
func uniqueName() (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return fmt.Sprintf("%020d.%d.%s.job", time.Now().UnixNano(), os.Getpid(), hex.EncodeToString(b[:])), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Entry is a file in one of the spool's directories.
type Entry struct {
	Name    string
	ModTime time.Time
	Size    int64
	Mode    fs.FileMode // from lstat: what kind of file it is
}

// List returns the files in sub, oldest first (by modification time, then name): FIFO for
// new/. Names starting with "." are ignored, as maildir readers do, and in bad/ so are the
// .reason files. Whatever else is there is listed, a FIFO or a directory too, so that the
// supervisor can set it aside.
func (s *Spool) List(sub string) ([]Entry, error) {
	dirents, err := os.ReadDir(filepath.Join(s.dir, sub))
	if err != nil {
		return nil, err
	}
	entries := make([]Entry, 0, len(dirents))
	for _, d := range dirents {
		name := d.Name()
		if strings.HasPrefix(name, ".") || (sub == Bad && strings.HasSuffix(name, ".reason")) {
			continue
		}
		info, err := d.Info() // lstat: never follows a link, never opens
		if err != nil {
			continue // gone since ReadDir: claimed by someone else
		}
		entries = append(entries, Entry{Name: name, ModTime: info.ModTime(), Size: info.Size(), Mode: info.Mode()})
	}
	sort.Slice(entries, func(i, j int) bool {
		if !entries[i].ModTime.Equal(entries[j].ModTime) {
			return entries[i].ModTime.Before(entries[j].ModTime)
		}
		return entries[i].Name < entries[j].Name
	})
	return entries, nil
}

// Claim moves a job from new/ to cur/. If the job is no longer in new/, someone else
// claimed it first: ErrClaimed.
func (s *Spool) Claim(name string) error {
	err := os.Rename(s.Path(New, name), s.Path(Cur, name))
	if errors.Is(err, fs.ErrNotExist) {
		return ErrClaimed
	}
	return err
}

// Read reads and validates a job file in sub. It never blocks and never follows a link:
// a file that is not a regular job file is a *RejectError saying what it is; a file that
// is gone is fs.ErrNotExist.
func (s *Spool) Read(sub, name string) (Job, error) {
	return readJob(s.Path(sub, name))
}

// Reject moves a file from sub to bad/ and writes the reason beside it as NAME.reason. The
// file is kept, never silently dropped (SPEC §5). It works for any kind of file (a FIFO, a
// directory); a name already in bad/ gets a numbered suffix rather than replacing it. The
// returned path is where the file went.
func (s *Spool) Reject(sub, name, reason string) (string, error) {
	dest := s.badName(name)
	if err := os.Rename(s.Path(sub, name), dest); err != nil {
		return "", fmt.Errorf("moving %s to bad/: %w", name, err)
	}
	if sub == Cur {
		s.clearMarks(name)
	}
	// The reason appears whole or not at all: written under a dot name, then renamed.
	tmp := filepath.Join(filepath.Dir(dest), "."+filepath.Base(dest)+".reason")
	err := os.WriteFile(tmp, []byte(reason+"\n"), 0o666)
	if err == nil {
		err = os.Rename(tmp, dest+".reason")
	}
	if err != nil {
		os.Remove(tmp)
		return dest, fmt.Errorf("moved %s to bad/, but writing its reason failed: %w", name, err)
	}
	return dest, nil
}

// badName is a free path in bad/ for a file called name, with room for ".reason".
func (s *Spool) badName(name string) string {
	base := name
	if len(base) > 200 {
		sum := sha256.Sum256([]byte(name))
		base = base[:180] + "-" + hex.EncodeToString(sum[:4])
	}
	for n := 0; ; n++ {
		candidate := base
		if n > 0 {
			candidate += "." + strconv.Itoa(n)
		}
		p := s.Path(Bad, candidate)
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			return p
		}
	}
}

// Remove deletes a finished job's file.
func (s *Spool) Remove(sub, name string) error {
	err := os.Remove(s.Path(sub, name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err // the markers stay with the job, for the next try
	}
	if sub == Cur {
		s.clearMarks(name)
	}
	return nil
}

// Claimed reports whether the job name is in cur/.
func (s *Spool) Claimed(name string) bool {
	_, err := os.Lstat(s.Path(Cur, name))
	return err == nil
}

// Requeue moves a claimed job back to new/, keeping its place in the queue (its
// modification time is unchanged).
func (s *Spool) Requeue(name string) error {
	// The markers go only once the job has left cur/: a requeue that fails is tried again,
	// by this daemon or the next, and the stop marker is what says it must be requeued.
	if err := os.Rename(s.Path(Cur, name), s.Path(New, name)); err != nil {
		return err
	}
	s.clearMarks(name)
	return nil
}

// Retry puts a claimed job back into new/ with one more attempt recorded in the file, at
// its old place in the queue. If the new file cannot be written (the disk is full), the job
// is moved back as it is and Retry returns the write error with the job safe in new/; the
// caller keeps counting in memory.
func (s *Spool) Retry(name string, j Job) error {
	cur := s.Path(Cur, name)
	info, err := os.Lstat(cur)
	if err != nil {
		return err
	}
	werr := s.deliver(name, j, info.ModTime())
	if werr == nil {
		return s.Remove(Cur, name)
	}
	if err := s.Requeue(name); err != nil {
		return fmt.Errorf("%v; and moving it back to new/: %w", werr, err)
	}
	return fmt.Errorf("recording the attempt: %w", werr)
}

// CleanTmp removes files left in tmp/ by writers that crashed, once they are older than
// maxAge (a day; maildir readers wait 36 hours).
func (s *Spool) CleanTmp(maxAge time.Duration) {
	entries, err := s.List(Tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		if time.Since(e.ModTime) > maxAge {
			os.Remove(s.Path(Tmp, e.Name))
		}
	}
}
