package forgehttp

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/forge"
	"pipelined/internal/testenv"
)

func TestHostileOutboxFilesAreSetAsideAndTheRestGoesOn(t *testing.T) {
	f := newFakeForge(t, nil)
	s := newSite(t, config.ForgeGitHub, f.srv.URL, "")
	good := s.enqueue(t, forge.Succeeded, "succeeded", time.Now())
	newDir := filepath.Join(s.outbox, "new")
	name := func(at int64, key string) string {
		return forge.FileName(forge.Record{At: time.Unix(0, at), Project: "x"}, "h")[:21] + key + ".h.json"
	}
	key := strings.Repeat("a", 24)
	other, _ := forge.NewRecord(s.project(), "refs/heads/dev", strings.Repeat("f", 40), forge.Started, "x", time.Now())
	hostile := map[string]func(path string) error{
		name(1, strings.Repeat("e", 24)): func(p string) error { return syscall.Mkfifo(p, 0o644) },
		name(2, key+"0"):                 func(p string) error { return os.WriteFile(p, []byte("{}"), 0o644) }, // not a record's name
		name(3, key):                     func(p string) error { return os.Symlink("/etc/passwd", p) },
		name(4, strings.Repeat("b", 24)): func(p string) error { return os.WriteFile(p, []byte(`{"project":`), 0o644) },
		name(5, strings.Repeat("c", 24)): func(p string) error { return os.WriteFile(p, make([]byte, 1<<20), 0o644) },
		name(6, strings.Repeat("d", 24)): func(p string) error { return os.Mkdir(p, 0o755) },
		"garbage":                        func(p string) error { return os.WriteFile(p, []byte("x"), 0o644) },
		// A valid record under another record's name: it could push out that one's state.
		name(other.At.UnixNano(), good.Key()): func(p string) error { return os.WriteFile(p, other.Encode(), 0o644) },
	}
	for n, make := range hostile {
		if err := make(filepath.Join(newDir, n)); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() { s.sender(SenderOptions{}).Pass(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a hostile file held the sender")
	}
	if got := f.requests(); len(got) != 1 || got[0].Body["state"] != "success" {
		t.Errorf("requests %v, want the good record's alone", got)
	}
	if left := s.files(t, "new"); len(left) != 0 {
		t.Errorf("left in new/: %v", left)
	}
	for n := range hostile {
		if _, err := os.Lstat(filepath.Join(s.outbox, "bad", n+".reason")); err != nil {
			t.Errorf("%s has no reason in bad/: %v", n, err)
		}
	}
	if !strings.Contains(s.log.String(), "forge status set aside") {
		t.Errorf("nothing logged:\n%s", s.log)
	}
}

func TestEnqueueRefusesAnInvalidRecord(t *testing.T) {
	s := newSite(t, config.ForgeGitHub, "https://example.org", "")
	r, _ := forge.NewRecord(s.project(), "refs/heads/main", testCommit, forge.Started, "x", time.Now())
	for name, bad := range map[string]forge.Record{
		"no commit":     {Project: r.Project, Ref: r.Ref, Context: r.Context, State: r.State, At: r.At},
		"unknown state": {Project: r.Project, Ref: r.Ref, Commit: r.Commit, Context: r.Context, State: "done", At: r.At},
		"bad ref":       {Project: r.Project, Ref: "refs/heads/-x", Commit: r.Commit, Context: r.Context, State: r.State, At: r.At},
	} {
		if err := forge.Enqueue(s.outbox, bad); err == nil {
			t.Errorf("%s: queued", name)
		}
	}
}

// TestAFullDiskFailsEnqueueOnly: a status that cannot be queued is an error for the caller
// to log (pipeline-build does not fail the build for it); nothing half-written is left.
func TestAFullDiskFailsEnqueueOnly(t *testing.T) {
	dir := t.TempDir()
	testenv.MountTmpfs(t, dir, "64k")
	s := newSite(t, config.ForgeGitHub, "https://example.org", "")
	s.outbox = filepath.Join(dir, "outbox")
	if _, err := forge.OpenOutbox(s.outbox); err != nil {
		t.Fatal(err)
	}
	filler, _ := os.Create(filepath.Join(dir, "filler"))
	for {
		if _, err := filler.Write(make([]byte, 4096)); err != nil {
			break
		}
	}
	filler.Close()
	r, _ := forge.NewRecord(s.project(), "refs/heads/main", testCommit, forge.Started, strings.Repeat("x", 4000), time.Now())
	err := forge.Enqueue(s.outbox, r)
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "queueing the started status") {
		t.Errorf("forge.Enqueue on a full disk = %v", err)
	}
	if left := s.files(t, "tmp"); len(left) != 0 {
		t.Errorf("left in tmp/: %v", left)
	}
}

// A FIFO or a link planted where a set-aside file's reason goes holds nothing and writes
// nothing elsewhere.
func TestAPlantedReasonFileHoldsNothing(t *testing.T) {
	f := newFakeForge(t, nil)
	s := newSite(t, config.ForgeGitHub, f.srv.URL, "")
	s.enqueue(t, forge.Succeeded, "succeeded", time.Now())
	os.MkdirAll(filepath.Join(s.outbox, "bad"), 0o755)
	outside := filepath.Join(t.TempDir(), "precious")
	os.WriteFile(outside, []byte("keep me\n"), 0o644)
	for name, plant := range map[string]func(string) error{
		"fifo": func(p string) error { return syscall.Mkfifo(p, 0o644) },
		"link": func(p string) error { return os.Symlink(outside, p) },
	} {
		if err := os.WriteFile(filepath.Join(s.outbox, "new", name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := plant(filepath.Join(s.outbox, "bad", name+".reason")); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() { s.sender(SenderOptions{}).Pass(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a FIFO in bad/ held the sender")
	}
	if data, _ := os.ReadFile(outside); string(data) != "keep me\n" {
		t.Errorf("a file outside the outbox was written through a link: %q", data)
	}
	if got := f.requests(); len(got) != 1 {
		t.Errorf("%d requests, want 1", len(got))
	}
}
