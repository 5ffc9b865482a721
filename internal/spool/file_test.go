package spool

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHostileFilesAreRefusedWithoutBlocking: whatever is dropped into new/, reading it
// returns at once with a reason; nothing blocks (a FIFO would, with a plain open).
func TestHostileFilesAreRefusedWithoutBlocking(t *testing.T) {
	s := openSpool(t)
	good, _ := s.Write(job)
	target := s.Path(New, good)
	mk := map[string]func(path string) error{
		"a FIFO":                func(p string) error { return syscall.Mkfifo(p, 0o644) },
		"a symbolic link":       func(p string) error { return os.Symlink(target, p) },
		"a link to a FIFO":      func(p string) error { syscall.Mkfifo(p+".fifo", 0o644); return os.Symlink(p+".fifo", p) },
		"a directory":           func(p string) error { return os.Mkdir(p, 0o755) },
		"larger than 4096":      func(p string) error { return os.WriteFile(p, make([]byte, 10<<20), 0o644) },
		"a socket":              func(p string) error { l, err := net.Listen("unix", p); t.Cleanup(func() { l.Close() }); return err },
		"not a job: invalid":    func(p string) error { return os.WriteFile(p, []byte("{nope"), 0o644) },
		"a link to a directory": func(p string) error { return os.Symlink(s.Path(New, ""), p) },
	}
	want := map[string]string{
		"a FIFO": "FIFO", "a symbolic link": "symbolic link", "a link to a FIFO": "symbolic link",
		"a directory": "directory", "larger than 4096": "larger than 4096 bytes", "a socket": "socket",
		"not a job: invalid": "not a job", "a link to a directory": "symbolic link",
	}
	for what, create := range mk {
		name := strings.ReplaceAll(what, " ", "_")
		if err := create(s.Path(New, name)); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		done := make(chan error, 1)
		go func() { _, err := s.Read(New, name); done <- err }()
		var err error
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Read blocked", what)
		}
		var rej *RejectError
		if !errors.As(err, &rej) || !strings.Contains(rej.Reason, want[what]) {
			t.Errorf("%s: Read = %v, want a refusal saying %q", what, err, want[what])
		}
		if Locked(s.Path(New, name)) {
			t.Errorf("%s: Locked is true", what)
		}
	}
	if _, err := s.Read(New, "gone"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read of a missing file = %v, want fs.ErrNotExist", err)
	}
	// Every one of them can be set aside.
	entries, _ := s.List(New)
	for _, e := range entries {
		if e.Name == good || strings.HasSuffix(e.Name, ".fifo") {
			continue
		}
		if _, err := s.Reject(New, e.Name, "test"); err != nil {
			t.Errorf("Reject %s: %v", e.Name, err)
		}
	}
	if left, _ := s.List(New); len(left) != 2 {
		t.Errorf("new/ after rejecting: %v", left)
	}
}

func TestRejectNeverReplacesAnEarlierBadFile(t *testing.T) {
	s := openSpool(t)
	for i, content := range []string{"first", "second"} {
		os.WriteFile(s.Path(New, "x"), []byte(content), 0o644)
		dest, err := s.Reject(New, "x", "reason "+content)
		if err != nil {
			t.Fatal(err)
		}
		want := s.Path(Bad, "x")
		if i == 1 {
			want += ".1"
		}
		if dest != want {
			t.Errorf("rejected to %s, want %s", dest, want)
		}
	}
	if data, _ := os.ReadFile(s.Path(Bad, "x")); string(data) != "first" {
		t.Errorf("bad/x = %q", data)
	}
	if data, _ := os.ReadFile(s.Path(Bad, "x.1.reason")); string(data) != "reason second\n" {
		t.Errorf("bad/x.1.reason = %q", data)
	}
	long := strings.Repeat("n", 250)
	os.WriteFile(s.Path(New, long), []byte("x"), 0o644)
	if dest, err := s.Reject(New, long, "long"); err != nil || len(dest) == 0 {
		t.Errorf("Reject of a 250-byte name = %q, %v", dest, err)
	}
}

func TestMovesNeverReplaceAJob(t *testing.T) {
	s := openSpool(t)
	running, _ := s.Write(job)
	if err := s.Claim(running); err != nil {
		t.Fatal(err)
	}
	// A writer with a fixed name drops a second job under the running one's name.
	os.WriteFile(s.Path(New, running), []byte(`{"project":"web","ref":"refs/heads/other"}`), 0o644)
	if err := s.Claim(running); !errors.Is(err, ErrNameTaken) {
		t.Errorf("Claim over a running job = %v, want ErrNameTaken", err)
	}
	if err := s.Requeue(running); !errors.Is(err, ErrNameTaken) {
		t.Errorf("Requeue over a queued job = %v, want ErrNameTaken", err)
	}
	if got, err := s.Read(Cur, running); err != nil || got.Ref != job.Ref {
		t.Errorf("the running job's file = %+v, %v: it was replaced", got, err)
	}
	if got, err := s.Read(New, running); err != nil || got.Ref != "refs/heads/other" {
		t.Errorf("the queued job's file = %+v, %v", got, err)
	}
	if err := s.Rename(New, running, "other.job"); err != nil {
		t.Fatal(err)
	}
	if err := s.Claim("other.job"); err != nil {
		t.Errorf("Claim under a free name = %v", err)
	}
}

func TestDotFilesInNewAreListedToBeSetAside(t *testing.T) {
	s := openSpool(t)
	os.WriteFile(s.Path(New, ".hidden"), []byte("{}"), 0o644)
	os.WriteFile(s.Path(Cur, ".x.cancel"), []byte("{}"), 0o644)
	if entries, _ := s.List(New); len(entries) != 1 || entries[0].Name != ".hidden" {
		t.Errorf("new/ lists %v, want the dot file", entries)
	}
	if entries, _ := s.List(Cur); len(entries) != 0 {
		t.Errorf("cur/ lists %v: a record beside a job is not a job", entries)
	}
}
