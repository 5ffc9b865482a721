package e2e

// Whatever lands in spool/new/ is set aside with a reason, and the rest goes on (SPEC §5.1).

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/testenv"
)

// TestHostileSpoolFilesAreSetAside: whatever lands in spool/new/ is set aside with a reason
// and a valid job behind it runs at once; SIGTERM is still acted on in time.
func TestHostileSpoolFilesAreSetAside(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[p]\nremote = %s\n", repo.Remote)
	p := s.daemonWithoutDAC("--interval", "0", "--grace", "2s")
	newDir := filepath.Join(s.workdir, ".pipelined", "spool", "new")
	valid := fmt.Sprintf(`{"project":"p","ref":"refs/heads/main","commit":%q}`, repo.Head())
	elsewhere := s.file("elsewhere.job", valid, 0o644)
	hostile := map[string]func(string) error{
		"1-fifo.job":      func(p string) error { return syscall.Mkfifo(p, 0o666) },
		"2-fifo-link.job": func(p string) error { syscall.Mkfifo(p+".target", 0o666); return os.Symlink(p+".target", p) },
		"3-file-link.job": func(p string) error { return os.Symlink(elsewhere, p) },
		"4-dir.job":       func(p string) error { return os.Mkdir(p, 0o755) },
		"5-unreadable.job": func(p string) error {
			if err := os.WriteFile(p, []byte(valid), 0o644); err != nil {
				return err
			}
			return os.Chmod(p, 0)
		},
		"6-huge.job": func(p string) error { return os.WriteFile(p, make([]byte, 10<<20), 0o644) },
		"8-future.job": func(p string) error { // not JSON, and dated years ahead
			if err := os.WriteFile(p, []byte("garbage"), 0o644); err != nil {
				return err
			}
			future := time.Now().AddDate(4, 0, 0)
			return os.Chtimes(p, future, future)
		},
	}
	tmp := filepath.Join(s.dir, "hostile")
	os.MkdirAll(tmp, 0o755)
	for name, create := range hostile {
		if err := create(filepath.Join(tmp, name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for name := range hostile { // made before the valid job: ahead of it in the queue
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(newDir, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, target := range []string{"2-fifo-link.job.target"} {
		os.Rename(filepath.Join(tmp, target), filepath.Join(s.dir, target)) // keep the link's target out of the spool
	}
	delivered := time.Now()
	s.dropJob("7-valid.job", valid)
	waitFor(t, p, time.Minute, "the valid job behind the hostile files did not run", func() bool { return s.running() == 1 || len(s.finished()) == 1 })
	var started time.Time
	for _, b := range append(s.finished(), s.runningStatuses()...) {
		started = b.Started
	}
	t.Logf("the valid job started %v after it was delivered", started.Sub(delivered).Round(time.Millisecond))
	if lag := started.Sub(delivered); lag > 3*time.Second {
		t.Errorf("the valid job started %v after it was delivered", lag)
	}
	bad := filepath.Join(s.workdir, ".pipelined", "spool", "bad")
	want := map[string]string{"1-fifo.job": "FIFO", "2-fifo-link.job": "symbolic link", "3-file-link.job": "symbolic link",
		"4-dir.job": "directory", "5-unreadable.job": "cannot be read", "6-huge.job": "larger than", "8-future.job": "not a job"}
	// The reason file is written after the move, and the log line by the daemon's log
	// writer a moment later: wait for both.
	waitFor(t, p, 30*time.Second, "the hostile files were not all set aside, with a reason and a log line", func() bool {
		left, _ := os.ReadDir(newDir)
		for name := range want {
			if _, err := os.Stat(filepath.Join(bad, name+".reason")); err != nil || !strings.Contains(p.stderr(), "job="+name) {
				return false
			}
		}
		return len(left) == 0
	})
	for name, reason := range want {
		data, err := os.ReadFile(filepath.Join(bad, name+".reason"))
		if err != nil || !strings.Contains(string(data), reason) {
			t.Errorf("bad/%s.reason = %q, %v; want it to say %q", name, data, err, reason)
		}
	}
	sent := time.Now()
	p.signal(syscall.SIGTERM)
	p.wait(t, time.Minute)
	// SPEC §8: exit within the grace (2 s) plus a second. The half second above that is
	// the test's side: reaping the process and noticing it, on two busy cores.
	if took := time.Since(sent); took > 3500*time.Millisecond {
		t.Errorf("pipelined took %v to exit after SIGTERM; the deadline is the grace (2s) plus a second", took)
	}
	// pipelined status copes with the same files.
	for name, create := range hostile {
		create(filepath.Join(newDir, "again-"+name))
	}
	res := run(t, nil, bin.pipelined, "status", "--workdir", s.workdir)
	if res.code != 0 || !strings.Contains(res.stdout, "FIFO") {
		t.Errorf("status: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}
