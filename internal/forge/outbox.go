package forge

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

	"golang.org/x/sys/unix"

	"pipelined/internal/atomicfile"
	"pipelined/internal/safeopen"
)

// Subdirectories of the outbox, as in the spool: a record is written in tmp/, synced and
// renamed into new/; one that cannot be read or delivered goes to bad/ with NAME.reason.
const (
	outTmp = "tmp"
	outNew = "new"
	outBad = "bad"
)

// Outbox is the directory of status records waiting to be delivered (WORKDIR/.pipelined/outbox).
type Outbox struct{ dir string }

// AtOutbox returns the outbox at dir as it is, creating nothing: a reader's view, for which
// a missing outbox holds nothing (List answers fs.ErrNotExist).
func AtOutbox(dir string) *Outbox { return &Outbox{dir: dir} }

// OpenOutbox returns the outbox at dir, creating its subdirectories as needed.
func OpenOutbox(dir string) (*Outbox, error) {
	for _, sub := range []string{outTmp, outNew, outBad} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o777); err != nil {
			return nil, fmt.Errorf("creating the outbox: %w", err)
		}
	}
	return &Outbox{dir: dir}, nil
}

// staleTmp: a record still in tmp/ after a day was left by a writer that died between
// writing it and moving it into new/ (as the job spool's tmp/ is, it is removed).
const staleTmp = 24 * time.Hour

// CleanTmp removes what writers that died left in tmp/ more than a day ago; a record being
// written now is younger.
func (o *Outbox) CleanTmp() {
	entries, _ := os.ReadDir(filepath.Join(o.dir, outTmp))
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleTmp {
			os.Remove(filepath.Join(o.dir, outTmp, e.Name()))
		}
	}
}

// Enqueue writes a record into the outbox at dir: the status is delivered by the daemon's
// Sender, or by pipeline-build run by hand (Deliver). Its error is the caller's to log: a
// status that cannot be queued (a full disk) never fails a build.
func Enqueue(dir string, r Record) error {
	o, err := OpenOutbox(dir)
	if err == nil {
		err = o.Write(r)
	}
	if err != nil {
		return fmt.Errorf("queueing the %s status of %s for the forge: %w", r.State, r.Commit, err)
	}
	return nil
}

// Write delivers a record into new/ the way a job enters the spool: a unique file in tmp/,
// synced, renamed, and new/ synced, so that it survives a crash the moment Write returns.
// Older records of the same commit and context are removed: only the newest is sent.
func (o *Outbox) Write(r Record) error {
	if err := r.Validate(); err != nil {
		return err
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	name := FileName(r, fmt.Sprintf("%d-%s", os.Getpid(), hex.EncodeToString(b[:])))
	tmp := filepath.Join(o.dir, outTmp, name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(r.Encode())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(o.dir, outNew, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := syncDir(filepath.Join(o.dir, outNew)); err != nil {
		return err
	}
	o.RemoveOlder(Entry{Name: name, key: r.Key(), at: r.At.UnixNano()})
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// senderLock is the file a Sender locks while it delivers: a dot file, which List passes over.
const senderLock = ".sender.lock"

// Lock takes the outbox for one Sender, without waiting: two Senders (pipeline-build run by
// hand, and a daemon started meanwhile) could otherwise send one commit's states out of
// order, the older one last. ok is false when another Sender holds it. Where the lock file
// cannot be made (a read-only disk), delivery goes on unlocked. The lock is an open file
// description lock, dropped however the holder ends.
func (o *Outbox) Lock() (unlock func(), ok bool) {
	f, err := os.OpenFile(filepath.Join(o.dir, senderLock), os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return func() {}, true
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	for {
		err = unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	switch {
	case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES):
		f.Close()
		return nil, false
	case err != nil:
		f.Close()
		return func() {}, true
	}
	return func() { f.Close() }, true
}

// Entry is a record's file in new/.
type Entry struct {
	Name string
	key  string
	at   int64 // unix nanoseconds of the record's At
}

func (e Entry) newerThan(x Entry) bool { return e.at > x.at || (e.at == x.at && e.Name > x.Name) }

// List returns the records of each key, newest first, the keys in the order of their
// newest record, oldest first; names that are not a record's are returned apart.
func (o *Outbox) List() (groups [][]Entry, strange []string, err error) {
	dirents, err := os.ReadDir(filepath.Join(o.dir, outNew))
	if err != nil {
		return nil, nil, err
	}
	byKey := map[string][]Entry{}
	for _, d := range dirents {
		if strings.HasPrefix(d.Name(), ".") {
			continue
		}
		at, key, ok := parseName(d.Name())
		if !ok {
			strange = append(strange, d.Name())
			continue
		}
		byKey[key] = append(byKey[key], Entry{Name: d.Name(), key: key, at: at})
	}
	for _, g := range byKey {
		sort.Slice(g, func(i, j int) bool { return g[i].newerThan(g[j]) })
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[j][0].newerThan(groups[i][0]) })
	return groups, strange, nil
}

// Read reads a record's file: a regular file of a bounded size (a FIFO or a link in the
// outbox blocks nothing, SPEC §5), whose content agrees with its name.
func (o *Outbox) Read(e Entry) (Record, error) {
	f, err := safeopen.Open(filepath.Join(o.dir, outNew, e.Name), os.O_RDONLY, maxRecordSize, false)
	if err != nil {
		return Record{}, err
	}
	defer f.Close()
	r, err := decodeRecord(f)
	if err != nil {
		return Record{}, err
	}
	if r.Key() != e.key || r.At.UnixNano() != e.at {
		return Record{}, fmt.Errorf("its name does not match its content")
	}
	return r, nil
}

// Done removes a delivered (or given up) record and every older one of its key.
func (o *Outbox) Done(e Entry) {
	os.Remove(filepath.Join(o.dir, outNew, e.Name))
	o.RemoveOlder(e)
}

// RemoveOlder removes the records of e's key older than e.
func (o *Outbox) RemoveOlder(e Entry) {
	groups, _, err := o.List()
	if err != nil {
		return
	}
	for _, g := range groups {
		for _, x := range g {
			if x.key == e.key && e.newerThan(x) {
				os.Remove(filepath.Join(o.dir, outNew, x.Name))
			}
		}
	}
}

// SetAside moves a file out of new/ into bad/ with a reason file beside it, so that it is
// neither lost nor tried again. Where even the move fails (a read-only disk), the file is
// removed, so that it cannot stop the records after it; the caller logs either way.
func (o *Outbox) SetAside(name, reason string) error {
	src, dst := filepath.Join(o.dir, outNew, name), filepath.Join(o.dir, outBad, name)
	os.MkdirAll(filepath.Dir(dst), 0o777)
	if err := os.Rename(src, dst); err != nil {
		if rerr := os.RemoveAll(src); rerr != nil {
			return fmt.Errorf("cannot move it to bad/ (%v) nor remove it (%v)", err, rerr)
		}
		return fmt.Errorf("removed: cannot move it to bad/ (%v)", err)
	}
	// Written aside and renamed: a FIFO or a link planted at its name is replaced, never
	// opened (a FIFO's open would wait for a reader for ever, holding every delivery).
	if err := atomicfile.Write(dst+".reason", []byte(reason+"\n"), 0o666); err != nil {
		return fmt.Errorf("moved to bad/ without its reason file: %v", err)
	}
	return nil
}

// Waits reports whether the outbox at dir holds a file to deliver (or to set aside).
func Waits(dir string) bool {
	entries, err := os.ReadDir(filepath.Join(dir, outNew))
	if err != nil {
		return false
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			return true
		}
	}
	return false
}

// Waiting lists what the outbox at dir holds, without changing anything (for `pipelined
// status`, which may run beside the daemon): the newest readable record of each commit and
// context, oldest first, and how many files were set aside in bad/. A missing outbox holds
// nothing.
func Waiting(dir string) (records []Record, setAside int, err error) {
	o := &Outbox{dir: dir}
	groups, _, err := o.List()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	for _, g := range groups {
		for _, e := range g {
			if r, err := o.Read(e); err == nil {
				records = append(records, r)
				break
			}
		}
	}
	bad, _ := os.ReadDir(filepath.Join(dir, outBad))
	for _, b := range bad {
		if !strings.HasSuffix(b.Name(), ".reason") && !strings.HasPrefix(b.Name(), ".") {
			setAside++
		}
	}
	return records, setAside, nil
}
