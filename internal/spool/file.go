package spool

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"pipelined/internal/safeopen"
)

// openRegular opens a job file with safeopen (never blocking, never following a link,
// only a regular file of at most max bytes) and turns what it refuses into a *RejectError
// naming what the file is. A file that is gone is fs.ErrNotExist: someone else claimed or
// removed it.
func openRegular(path string, flags int, max int64) (*os.File, error) {
	f, err := safeopen.Open(path, flags, max, false)
	var kind *safeopen.KindError
	var size *safeopen.SizeError
	switch {
	case err == nil:
		return f, nil
	case errors.As(err, &kind):
		return nil, reject("%s, not a job file", kind.Kind)
	case errors.As(err, &size):
		return nil, reject("the file is larger than %d bytes", size.Max)
	case errors.Is(err, fs.ErrNotExist):
		return nil, fs.ErrNotExist
	case errors.Is(err, fs.ErrPermission):
		return nil, reject("cannot be read: %v", err)
	}
	return nil, fmt.Errorf("opening %s: %w", path, err)
}

// readJob reads and decodes the job file at path; see openRegular for what it refuses.
func readJob(path string) (Job, error) {
	f, err := openRegular(path, unix.O_RDONLY, MaxJobSize)
	if err != nil {
		return Job{}, err
	}
	defer f.Close()
	return decodeFrom(f)
}

// decodeFrom reads at most MaxJobSize+1 bytes from f and decodes them.
func decodeFrom(f io.Reader) (Job, error) {
	j, err := DecodeJob(f)
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return Job{}, reject("cannot be read: %v", err)
	}
	return j, err
}
