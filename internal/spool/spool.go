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
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"pipelined/internal/atomicfile"
)

// Subdirectories of the spool.
const (
	Tmp = "tmp" // being written
	New = "new" // queued, in FIFO order
	Cur = "cur" // claimed: a build runs (or ran) it
	Bad = "bad" // refused, each with NAME.reason
	// Attempts holds, per job name, the attempts an infrastructure error ended: only the
	// daemon writes them, so a job file dropped into new/ cannot claim any (SPEC §5).
	Attempts = "attempts"
)

// ErrClaimed means another claimer renamed the job first; it is not a failure.
var ErrClaimed = errors.New("job already claimed")

// ErrNameTaken means the destination of a move already holds a file of that name: the
// move never replaces it (two writers may choose one name: both jobs are kept).
var ErrNameTaken = errors.New("a file of that name is there already")

// Spool is a spool directory.
type Spool struct {
	dir string
}

// Open returns the spool at dir, creating its subdirectories as needed.
func Open(dir string) (*Spool, error) {
	for _, sub := range []string{Tmp, New, Cur, Bad, Attempts} {
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
	name := UniqueName()
	if err := s.deliver(name, j, time.Time{}); err != nil {
		return "", fmt.Errorf("writing a job: %w", err)
	}
	return name, nil
}

// deliver writes j as tmp/name, synced, and renames it into new/name, which must not exist
// (ErrNameTaken). A non-zero mtime is given to the file, so that it keeps its place in the
// queue.
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
		err = moveNoReplace(tmp, s.Path(New, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Join(s.dir, New))
}

// UniqueName is "<unix nanoseconds>.<pid>.<random>.job": unique without coordination, and
// sorting by name is sorting by time of writing.
func UniqueName() string {
	var b [4]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return fmt.Sprintf("%020d.%d.%s.job", time.Now().UnixNano(), os.Getpid(), hex.EncodeToString(b[:]))
}

// moveNoReplace renames from to to unless to exists (ErrNameTaken): renameat2 with
// RENAME_NOREPLACE, or where the file system lacks it, link(2) (which never replaces) and
// unlink. A crash between those two leaves one file under both names; RecoverLinks undoes it.
func moveNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		if err = os.Link(from, to); err == nil {
			err = os.Remove(from)
		}
	}
	switch {
	case errors.Is(err, fs.ErrExist):
		return ErrNameTaken
	case err != nil:
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: unwrapErrno(err)}
	}
	return nil
}

func unwrapErrno(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
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

// Redate gives the file name in sub the modification time at, without following a link:
// its place in the queue.
func (s *Spool) Redate(sub, name string, at time.Time) error {
	ts := unix.NsecToTimespec(at.UnixNano())
	return unix.UtimesNanoAt(unix.AT_FDCWD, s.Path(sub, name), []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}

// List returns the files in sub, oldest first (by modification time, then name): FIFO for
// new/. In new/ every file is listed, a dot name, a FIFO or a directory too, so that the
// supervisor can set aside what is not a job (a dot name would otherwise wait there for
// ever); elsewhere names starting with "." are pipelined's own records and are skipped, and
// in bad/ so are the .reason files.
func (s *Spool) List(sub string) ([]Entry, error) {
	dirents, err := os.ReadDir(filepath.Join(s.dir, sub))
	if err != nil {
		return nil, err
	}
	entries := make([]Entry, 0, len(dirents))
	for _, d := range dirents {
		name := d.Name()
		if strings.HasPrefix(name, ".") && sub != New || (sub == Bad && strings.HasSuffix(name, ".reason")) {
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
// claimed it first: ErrClaimed. If cur/ holds a job of that name (a writer reused the name
// of a running job), nothing moves: ErrNameTaken.
func (s *Spool) Claim(name string) error {
	err := moveNoReplace(s.Path(New, name), s.Path(Cur, name))
	if errors.Is(err, fs.ErrNotExist) {
		return ErrClaimed
	}
	return err
}

// Rename gives a job in sub another name, never replacing a file (ErrNameTaken); the file
// keeps its modification time, so a queued job keeps its place.
func (s *Spool) Rename(sub, name, newName string) error {
	return moveNoReplace(s.Path(sub, name), s.Path(sub, newName))
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
	var dest string
	for {
		dest = s.badName(name)
		err := moveNoReplace(s.Path(sub, name), dest)
		if errors.Is(err, ErrNameTaken) {
			continue // taken since badName looked: look again
		}
		if err != nil {
			return "", fmt.Errorf("moving %s to bad/: %w", name, err)
		}
		break
	}
	if err := atomicfile.Write(dest+".reason", []byte(reason+"\n"), 0o666); err != nil {
		return dest, fmt.Errorf("moved %s to bad/, but writing its reason failed: %w", name, err)
	}
	return dest, nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
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
		// Its reason's name must be free too: a file set aside as NAME.reason (a name a
		// writer chose) would be replaced by the reason of NAME.
		p := s.Path(Bad, candidate)
		if !exists(p) && !exists(p+".reason") {
			return p
		}
	}
}

// Remove deletes a job's file; one that is gone already is removed.
func (s *Spool) Remove(sub, name string) error {
	err := os.Remove(s.Path(sub, name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Claimed reports whether the job name is in cur/.
func (s *Spool) Claimed(name string) bool {
	_, err := os.Lstat(s.Path(Cur, name))
	return err == nil
}

// Requeue moves a claimed job back to new/, keeping its place in the queue (its
// modification time is unchanged). A job of that name in new/ is never replaced:
// ErrNameTaken, and the caller gives the job another name.
func (s *Spool) Requeue(name string) error {
	return moveNoReplace(s.Path(Cur, name), s.Path(New, name))
}

// Rewrite puts a claimed job back into new/ with new content (a retry pinned to the commit
// its first attempt resolved), at its old place in the queue. The new file is written
// first; only then does the claimed one go.
func (s *Spool) Rewrite(name string, j Job) error {
	info, err := os.Lstat(s.Path(Cur, name))
	if err != nil {
		return err
	}
	if err := s.deliver(name, j, info.ModTime()); err != nil {
		return err
	}
	return s.Remove(Cur, name)
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
