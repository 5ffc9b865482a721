package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWriteReplacesWholeAndLeavesNoTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "record.json")
	for _, content := range []string{"first\n", "second, longer\n"} {
		if err := WriteSynced(path, []byte(content), 0o666); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("read %q, %v; want %q", got, err, content)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the directory holds %d files, want only the record: %v", len(entries), entries)
	}
}

func TestWriteHonoursTheUmask(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := Write(path, []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(path)
	if got, want := info.Mode().Perm(), 0o666&^Umask(); got != want {
		t.Errorf("mode %o, want %o (0666 less the umask %o)", got, want, Umask())
	}
	if got := fmt.Sprintf("%o", Umask()); got != fmt.Sprintf("%o", currentUmask()) {
		t.Errorf("Umask() = %s, umask(2) says %o", got, currentUmask())
	}
}

func currentUmask() int {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return m
}

func TestWriteIntoAMissingDirectoryFailsAndCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	if err := Write(filepath.Join(dir, "no", "f"), []byte("x"), 0o666); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %v behind", entries)
	}
}
