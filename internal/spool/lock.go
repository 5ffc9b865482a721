package spool

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrLocked means another build already holds the job.
var ErrLocked = errors.New("another build holds this job")

// Held is a job file a build holds for as long as it runs. The lock is flock(2): the kernel
// drops it when the process ends in any way, so a lock that can be taken means no build is
// running the job.
type Held struct {
	f    *os.File
	Path string
	Job  Job
}

// Hold opens the job file at path, locks it and reads it.
func Hold(path string) (*Held, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	j, err := DecodeJob(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Held{f: f, Path: path, Job: j}, nil
}

// Finish removes the job file, then releases the lock: the job is done, whatever its
// result, and must not run again.
func (h *Held) Finish() error {
	err := os.Remove(h.Path)
	h.f.Close()
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Release releases the lock and leaves the file where it is.
func (h *Held) Release() { h.f.Close() }
