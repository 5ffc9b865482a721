package spool

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Every lock of pipelined is an open file description lock (fcntl F_OFD_SETLK) on a whole
// file: the kernel drops it when the holder's last descriptor closes, however the process
// ends, and F_OFD_GETLK can ask about it without taking it. flock(2) has no such probe:
// a LOCK_NB attempt is a lock for as long as it lasts, and a build starting at that instant
// failed (SPEC §5.1). OFD locks and flock locks do not see each other, so only these are used.

// ErrLocked means another process holds the lock.
var ErrLocked = errors.New("another process holds the lock")

// setLock takes (typ F_WRLCK or F_RDLCK) or waits for (wait) a lock on the whole of f.
func setLock(f *os.File, typ int16, wait bool) error {
	cmd := unix.F_OFD_SETLK
	if wait {
		cmd = unix.F_OFD_SETLKW
	}
	lk := unix.Flock_t{Type: typ, Whence: 0, Start: 0, Len: 0}
	for {
		err := unix.FcntlFlock(f.Fd(), cmd, &lk)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES):
			return ErrLocked
		default:
			return fmt.Errorf("locking %s: %w", f.Name(), err)
		}
	}
}

// isLocked reports whether some open file description holds a lock on f, without taking
// one.
func isLocked(f *os.File) (bool, error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, &lk); err != nil {
		return false, fmt.Errorf("probing the lock of %s: %w", f.Name(), err)
	}
	return lk.Type != unix.F_UNLCK, nil
}

// Held is a job file a build holds for as long as it runs: the lock tells the supervisor,
// and a supervisor started later, that the build is alive. Only the supervisor moves or
// removes job files (SPEC §5.1); a build only holds its job and reports its outcome.
type Held struct {
	f    *os.File
	Path string
	Job  Job
}

// Hold opens the job file at path (as carefully as every job file, see openRegular), locks
// it and reads it. It returns ErrLocked if a build already holds it.
func Hold(path string) (*Held, error) {
	f, err := openRegular(path, unix.O_RDWR, MaxJobSize)
	if err != nil {
		return nil, err
	}
	if err := setLock(f, unix.F_WRLCK, false); err != nil {
		f.Close()
		return nil, err
	}
	j, err := decodeFrom(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Held{f: f, Path: path, Job: j}, nil
}

// JobFDEnv names the environment variable by which the supervisor tells pipeline-build the
// file descriptor of the job file it locked for it.
const JobFDEnv = "PIPELINED_JOB_FD"

// Lock opens the claimed job name and locks it, for the supervisor to hand the locked file
// to the build it starts (HoldFile): the job is held from before the build starts, so that
// no moment exists when a claimed job of a starting build looks abandoned.
func (s *Spool) Lock(name string) (*os.File, error) {
	f, err := openRegular(s.Path(Cur, name), unix.O_RDWR, MaxJobSize)
	if err != nil {
		return nil, err
	}
	if err := setLock(f, unix.F_WRLCK, false); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// HoldFile takes over a job file the supervisor locked and handed down (Lock): f must be
// the file at path, which stays locked for as long as f is open.
func HoldFile(f *os.File, path string) (*Held, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	at, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() || !os.SameFile(info, at) {
		return nil, fmt.Errorf("the job file handed down is not %s", path)
	}
	// The description already holds the lock: taking it again is a no-op that makes sure.
	if err := setLock(f, unix.F_WRLCK, false); err != nil {
		return nil, err
	}
	j, err := decodeFrom(io.NewSectionReader(f, 0, MaxJobSize+1))
	if err != nil {
		return nil, err
	}
	return &Held{f: f, Path: path, Job: j}, nil
}

// Release releases the lock; the file stays for the supervisor to deal with.
func (h *Held) Release() { h.f.Close() }

// Locked reports whether a build holds the job file at path. It never takes the lock, so a
// status loop cannot make a starting build fail. A file that cannot be opened is not held.
func Locked(path string) bool {
	f, err := openRegular(path, unix.O_RDONLY, MaxJobSize)
	if err != nil {
		return false
	}
	defer f.Close()
	held, err := isLocked(f)
	return err == nil && held
}

// WaitUnlocked returns once no build holds the job file at path (or it is gone). It blocks
// in the kernel, without polling; it is meant for a goroutine of its own.
func WaitUnlocked(path string) {
	f, err := openRegular(path, unix.O_RDONLY, MaxJobSize)
	if err != nil {
		return
	}
	defer f.Close()
	// A read lock is granted once the build's write lock is gone; it is dropped at once.
	_ = setLock(f, unix.F_RDLCK, true)
}

// DaemonLock is the lock of the one daemon of a work directory; the file holds its pid.
type DaemonLock struct{ f *os.File }

// DaemonRunningError says that another daemon holds the work directory.
type DaemonRunningError struct {
	Path string
	PID  int // 0 if the file does not say
}

func (e *DaemonRunningError) Error() string {
	who := "another pipelined"
	if e.PID > 0 {
		who += " (pid " + strconv.Itoa(e.PID) + ")"
	}
	return who + " already runs on this work directory (it holds " + e.Path + "); stop it first, or use another --workdir"
}

// LockDaemon takes the daemon lock at path, or returns a *DaemonRunningError naming the pid
// of the daemon that holds it. The lock lasts until Close or the end of the process; the
// descriptor is close-on-exec, so the daemon's children do not hold it.
func LockDaemon(path string) (*DaemonLock, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the daemon lock %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("the daemon lock %s is not a regular file; remove it", path)
	}
	if err := setLock(f, unix.F_WRLCK, false); err != nil {
		f.Close()
		if errors.Is(err, ErrLocked) {
			pid, _ := DaemonPID(path)
			return nil, &DaemonRunningError{Path: path, PID: pid}
		}
		return nil, err
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &DaemonLock{f: f}, nil
}

// Close releases the lock.
func (l *DaemonLock) Close() error { return l.f.Close() }

// DaemonPID returns the pid of the daemon holding the lock at path, and whether one does.
// It never takes the lock.
func DaemonPID(path string) (int, bool) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	held, err := isLocked(f)
	if err != nil || !held {
		return 0, false
	}
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	return pid, true
}

// LockWait takes an exclusive lock on f, waiting for another holder to let go: for records
// whose writers take turns (see package outcome).
func LockWait(f *os.File) error { return setLock(f, unix.F_WRLCK, true) }
