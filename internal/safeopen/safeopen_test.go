package safeopen

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestOpenRefusesAllButSmallRegularFiles(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	os.WriteFile(regular, []byte("0123456789"), 0o644)
	fifo := filepath.Join(dir, "fifo")
	syscall.Mkfifo(fifo, 0o644)
	linkToFifo := filepath.Join(dir, "link-to-fifo")
	os.Symlink(fifo, linkToFifo)
	linkToRegular := filepath.Join(dir, "link-to-regular")
	os.Symlink(regular, linkToRegular)

	cases := []struct {
		path   string
		follow bool
		kind   string // "" for a file that opens
		size   bool
	}{
		{regular, false, "", false},
		{linkToRegular, true, "", false},
		{linkToRegular, false, "a symbolic link", false},
		{fifo, true, "a FIFO (named pipe)", false},
		{linkToFifo, true, "a FIFO (named pipe)", false},
		{linkToFifo, false, "a symbolic link", false},
		{dir, true, "a directory", false},
		{"/dev/zero", true, "a character device", false},
	}
	for _, tc := range cases {
		done := make(chan error, 1)
		go func() {
			f, err := Open(tc.path, os.O_RDONLY, 10, tc.follow)
			if err == nil {
				f.Close()
			}
			done <- err
		}()
		var err error
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Open(%s) blocked", tc.path)
		}
		var kind *KindError
		switch {
		case tc.kind == "" && err != nil:
			t.Errorf("Open(%s, follow=%v) = %v", tc.path, tc.follow, err)
		case tc.kind != "" && (!errors.As(err, &kind) || kind.Kind != tc.kind):
			t.Errorf("Open(%s, follow=%v) = %v, want %q", tc.path, tc.follow, err, tc.kind)
		}
	}
	if _, err := Open(regular, os.O_RDONLY, 9, false); !errors.As(err, new(*SizeError)) {
		t.Errorf("a file over the limit: %v", err)
	}
	if _, err := Open(filepath.Join(dir, "missing"), os.O_RDONLY, 9, false); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
}

func TestReadFileReadsOnlySmallRegularFiles(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	os.WriteFile(regular, []byte("0123456789"), 0o644)
	fifo := filepath.Join(dir, "fifo")
	syscall.Mkfifo(fifo, 0o644)
	if data, err := ReadFile(regular, 10); err != nil || string(data) != "0123456789" {
		t.Errorf("ReadFile(regular) = %q, %v", data, err)
	}
	if _, err := ReadFile(regular, 9); !errors.As(err, new(*SizeError)) {
		t.Errorf("a file over the limit: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := ReadFile(fifo, 10); done <- err }()
	select {
	case err := <-done:
		if !errors.As(err, new(*KindError)) {
			t.Errorf("ReadFile(fifo) = %v, want a KindError", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ReadFile(fifo) blocked")
	}
}
