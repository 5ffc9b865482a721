package recorded

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/workdir"
)

func TestARecordedCommitCountsAsBuiltAndIsNoBuild(t *testing.T) {
	l := workdir.Layout{Root: t.TempDir()}
	const ref, commit = "refs/heads/feature/x", "0123456789abcdef0123456789abcdef01234567"
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	if Polled(l, "app") {
		t.Fatal("Polled before the first poll")
	}
	at := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	if err := Write(l, Record{Project: "app", Ref: ref, Commit: commit, Recorded: at, Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	if err := MarkPolled(l, "app", at); err != nil || !Polled(l, "app") {
		t.Fatalf("MarkPolled: %v; Polled = %v", err, Polled(l, "app"))
	}
	if got := l.Existing("app", ref, commit); got != l.RecordedPath("app", ref, commit) {
		t.Errorf("Existing = %q, want the marker", got)
	}
	info, err := os.Stat(l.RecordedPath("app", ref, commit))
	if err != nil || info.Mode().Perm() != 0o640 {
		t.Errorf("the marker: %v, mode %v (umask 027)", err, info.Mode().Perm())
	}
	builds, _ := l.Builds()
	if len(builds) != 0 {
		t.Errorf("Builds = %v: a marker is no build", builds)
	}
	recs := List(l.RefDir("app", ref))
	if len(recs) != 1 || recs[0].Commit != commit || !recs[0].Recorded.Equal(at) {
		t.Errorf("Records = %+v", recs)
	}
	// A FIFO in a marker's place is not waited on, and leaves the others readable.
	fifo := filepath.Join(l.RefDir("app", ref), "deadbeef"+workdir.RecordedSuffix)
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if recs := List(l.RefDir("app", ref)); len(recs) != 1 {
		t.Errorf("Records with a FIFO = %+v", recs)
	}
}

func TestWriteReportsAnUnwritableDirectory(t *testing.T) {
	root := t.TempDir()
	l := workdir.Layout{Root: filepath.Join(root, "file")}
	os.WriteFile(l.Root, nil, 0o644) // the work directory is a file: nothing can go below it
	err := Write(l, Record{Project: "app", Ref: "refs/heads/main", Commit: "0123456789abcdef0123456789abcdef01234567"})
	if err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("WriteRecord = %v", err)
	}
	if err := MarkPolled(l, "app", time.Now()); err == nil {
		t.Errorf("MarkPolled below a file succeeded")
	}
	// A directory in the marker's place: the rename fails, and no temporary file stays.
	l = workdir.Layout{Root: root}
	marker := l.RecordedPath("app", "refs/heads/main", "0123456789abcdef0123456789abcdef01234567")
	os.MkdirAll(filepath.Join(marker, "x"), 0o755)
	if err := Write(l, Record{Project: "app", Ref: "refs/heads/main", Commit: "0123456789abcdef0123456789abcdef01234567"}); err == nil {
		t.Errorf("WriteRecord over a directory succeeded")
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(marker), ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// A FIFO that a build planted in its ref's directory, where a marker's temporary file was
// once named by the writer's pid, does not block the watcher that writes the marker.
func TestAFIFOBesideAMarkerBlocksNothing(t *testing.T) {
	l := workdir.Layout{Root: t.TempDir()}
	const ref, commit = "refs/heads/main", "0123456789abcdef0123456789abcdef01234567"
	path := l.RecordedPath("app", ref, commit)
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := syscall.Mkfifo(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-"+strconv.Itoa(os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Write(l, Record{Project: "app", Ref: ref, Commit: commit}) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a FIFO beside the marker blocked its writer")
	}
}
