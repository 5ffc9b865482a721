package spool

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
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
	tmp := s.Path(Tmp, name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return "", fmt.Errorf("writing a job: %w", err)
	}
	_, err = f.Write(j.Encode())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.Path(New, name))
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("writing a job: %w", err)
	}
	return name, syncDir(filepath.Join(s.dir, New))
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
}

// List returns the job files in sub, oldest first (by modification time, then name): FIFO
// for new/. Names starting with "." are ignored, as maildir readers do, and so are .reason
// files.
func (s *Spool) List(sub string) ([]Entry, error) {
	dirents, err := os.ReadDir(filepath.Join(s.dir, sub))
	if err != nil {
		return nil, err
	}
	entries := make([]Entry, 0, len(dirents))
	for _, d := range dirents {
		name := d.Name()
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".reason") || d.IsDir() {
			continue
		}
		info, err := d.Info()
		if err != nil {
			continue // gone since ReadDir: claimed by someone else
		}
		entries = append(entries, Entry{Name: name, ModTime: info.ModTime()})
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

// Read reads and validates a job file in sub.
func (s *Spool) Read(sub, name string) (Job, error) {
	f, err := os.Open(s.Path(sub, name))
	if err != nil {
		return Job{}, err
	}
	defer f.Close()
	return DecodeJob(f)
}

// Reject moves a job file from sub to bad/ and writes the reason beside it. The file is
// kept, never silently dropped (SPEC §5).
func (s *Spool) Reject(sub, name, reason string) error {
	if err := os.WriteFile(s.Path(Bad, name+".reason"), []byte(reason+"\n"), 0o666); err != nil {
		return fmt.Errorf("rejecting %s: %w", name, err)
	}
	if err := os.Rename(s.Path(sub, name), s.Path(Bad, name)); err != nil {
		return fmt.Errorf("rejecting %s: %w", name, err)
	}
	return nil
}

// Remove deletes a finished job's file.
func (s *Spool) Remove(sub, name string) error {
	err := os.Remove(s.Path(sub, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Requeue moves a claimed job back to new/, keeping its place in the queue (its
// modification time is unchanged).
func (s *Spool) Requeue(name string) error {
	return os.Rename(s.Path(Cur, name), s.Path(New, name))
}

// Running reports whether a build holds the lock on the claimed job name.
func (s *Spool) Running(name string) bool {
	f, err := os.Open(s.Path(Cur, name))
	if err != nil {
		return false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	return errors.Is(err, syscall.EWOULDBLOCK)
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

// Recover sorts out cur/ after a start: a job whose build still holds it is adopted (left
// in cur/ for the running build to finish); any other was interrupted by a crash and goes
// back to new/, at its old place in the queue (SPEC §5).
func (s *Spool) Recover() (requeued, adopted []string, err error) {
	entries, err := s.List(Cur)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		if s.Running(e.Name) {
			adopted = append(adopted, e.Name)
			continue
		}
		if err := s.Requeue(e.Name); err != nil {
			return requeued, adopted, err
		}
		requeued = append(requeued, e.Name)
	}
	return requeued, adopted, nil
}
