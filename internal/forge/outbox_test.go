package forge

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCleanTmpRemovesOnlyWhatDeadWritersLeft: a record left in tmp/ for over a day goes,
// one being written now stays.
func TestCleanTmpRemovesOnlyWhatDeadWritersLeft(t *testing.T) {
	dir := t.TempDir()
	o, err := OpenOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	old, fresh := filepath.Join(dir, outTmp, "old"), filepath.Join(dir, outTmp, "fresh")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	stale := time.Now().Add(-staleTmp - time.Hour)
	if err := os.Chtimes(old, stale, stale); err != nil {
		t.Fatal(err)
	}
	o.CleanTmp()
	if _, err := os.Lstat(old); !os.IsNotExist(err) {
		t.Errorf("a record left in tmp/ for over a day is still there (%v)", err)
	}
	if _, err := os.Lstat(fresh); err != nil {
		t.Errorf("a record being written was removed: %v", err)
	}
}
