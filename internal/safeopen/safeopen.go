// Package safeopen opens files that other people can put in pipelined's way — job files in
// the spool, env_file — so that nothing there can stop a reader: a FIFO would block open(2)
// until a writer comes, /dev/zero never ends, a device may act on being opened. Only a
// regular file of a bounded size is opened, without blocking, and its type and size are
// checked again on the opened file, in case it was swapped in between.
package safeopen

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// KindError is a file that is not a regular file.
type KindError struct {
	Path string
	Kind string // "a FIFO (named pipe)", "a directory", "a symbolic link", …
}

func (e *KindError) Error() string { return e.Path + ": " + e.Kind + ", not a regular file" }

// SizeError is a regular file larger than allowed.
type SizeError struct {
	Path string
	Max  int64
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("%s: larger than %d bytes", e.Path, e.Max)
}

// Open opens path with flags (O_RDONLY or O_RDWR) if it is a regular file of at most max
// bytes; otherwise it returns a *KindError or *SizeError without opening anything but a
// regular file. With follow false a symbolic link is refused (O_NOFOLLOW); with follow true
// it is followed. The open never blocks (O_NONBLOCK) and never makes a terminal the
// process's controlling one (O_NOCTTY).
func Open(path string, flags int, max int64, follow bool) (*os.File, error) {
	stat, open := os.Stat, flags|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC
	if !follow {
		stat, open = os.Lstat, open|unix.O_NOFOLLOW
	}
	info, err := stat(path)
	if err != nil {
		return nil, err
	}
	if kind := Kind(info.Mode()); kind != "" {
		return nil, &KindError{Path: path, Kind: kind}
	}
	fd, err := unix.Open(path, open, 0)
	if errors.Is(err, unix.ELOOP) && !follow {
		return nil, &KindError{Path: path, Kind: "a symbolic link"}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	if info, err = f.Stat(); err != nil {
		f.Close()
		return nil, err
	}
	if kind := Kind(info.Mode()); kind != "" {
		f.Close()
		return nil, &KindError{Path: path, Kind: kind}
	}
	if info.Size() > max {
		f.Close()
		return nil, &SizeError{Path: path, Max: max}
	}
	return f, nil
}

// Kind names what a file that is not a regular file is, or returns "" for a regular file.
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return ""
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "a special file"
}

// ReadFile reads a regular file of at most max bytes, without following a link: it is
// os.ReadFile for the daemon's own records (its configuration snapshot, a remote's state,
// a cache), where a FIFO someone planted would block os.ReadFile for ever.
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := Open(path, unix.O_RDONLY, max, false)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(data)) > max {
		err = &SizeError{Path: path, Max: max} // it grew since it was opened
	}
	return data, err
}
