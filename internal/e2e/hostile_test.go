package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"pipelined/internal/testenv"
)

// mkfifo plants a FIFO at path, as someone with write access to the work directory could.
func mkfifo(t *testing.T, path string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := unix.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFIFOsInTheDaemonsStateHangNothing: FIFOs where the daemon keeps its own state — its
// configuration snapshot and what it remembers of a remote's errors — are replaced or
// ignored, never opened for reading: a FIFO would block open(2) until a writer came, and
// the daemon would never start, the watcher never poll.
func TestFIFOsInTheDaemonsStateHangNothing(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[p]\nremote = %s\nbranches = main\n", repo.Remote)
	state := filepath.Join(s.workdir, ".pipelined")
	mkfifo(t, filepath.Join(state, "config.ini"))
	sum := sha256.Sum256([]byte(repo.Remote))
	mkfifo(t, filepath.Join(state, "remotes", hex.EncodeToString(sum[:12])))
	p := s.daemon("--interval", "1")
	waitFor(t, p, time.Minute, "the pushed commit was not built", func() bool {
		return s.hasBuild("p", "refs/heads/main", repo.Head())
	})
	p.signal(syscall.SIGTERM)
	p.wait(t, time.Minute)
}
