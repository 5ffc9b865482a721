package outcome

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/spool"
)

var job = spool.Job{Project: "web", Ref: "refs/heads/main", Commit: strings.Repeat("a", 40), Source: spool.SourceWatch}

func openJobs(t *testing.T) *Jobs {
	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	return NewJobs(sp)
}

func write(t *testing.T, j *Jobs, job spool.Job) string {
	name, err := j.Spool().Write(job)
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// TestAClaimNeverReplacesARunningJob: a webhook writer with a fixed name drops a job while
// the last one of that name runs; both are kept, and both are built.
func TestAClaimNeverReplacesARunningJob(t *testing.T) {
	j := openJobs(t)
	sp := j.Spool()
	name := write(t, j, job)
	if _, err := j.Claim(name); err != nil {
		t.Fatal(err)
	}
	other := job
	other.Ref = "refs/heads/other"
	os.WriteFile(sp.Path(spool.New, name), other.Encode(), 0o644)
	claimed, err := j.Claim(name)
	if err != nil || claimed == name {
		t.Fatalf("Claim = %q, %v; want the queued job claimed under a fresh name", claimed, err)
	}
	if got, _ := sp.Read(spool.Cur, name); got.Ref != job.Ref {
		t.Errorf("the running job became %+v", got)
	}
	if got, _ := sp.Read(spool.Cur, claimed); got.Ref != other.Ref {
		t.Errorf("the second job became %+v", got)
	}
}

func TestARequeueNeverReplacesAQueuedJob(t *testing.T) {
	j := openJobs(t)
	sp := j.Spool()
	name := write(t, j, job)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(sp.Path(spool.New, name), old, old)
	j.Claim(name)
	j.Cancel(name, Cancel{Stopped, StoppedReason})
	os.WriteFile(sp.Path(spool.New, name), job.Encode(), 0o644)
	queued, err := j.Requeue(name)
	if err != nil || queued == name {
		t.Fatalf("Requeue = %q, %v; want a fresh name", queued, err)
	}
	entries, _ := sp.List(spool.New)
	if len(entries) != 2 || entries[0].Name != queued {
		t.Errorf("new/ = %v; want both jobs, the requeued one first (its place kept)", entries)
	}
	if c := j.CancelOf(name); c.Kind != NotCanceled {
		t.Errorf("the cancel record stayed behind: %+v", c)
	}
}

func TestRetryRecordsTheAttemptPinsTheCommitAndKeepsThePlace(t *testing.T) {
	j := openJobs(t)
	sp := j.Spool()
	noCommit := job
	noCommit.Commit = ""
	first := write(t, j, noCommit)
	second := write(t, j, job)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(sp.Path(spool.New, first), old, old)
	j.Claim(first)
	attempts := WithAttempt(nil, time.Now(), "disk full")
	queued, err := j.Retry(first, job, attempts)
	if err != nil || queued != first {
		t.Fatalf("Retry = %q, %v", queued, err)
	}
	entries, _ := sp.List(spool.New)
	if len(entries) != 2 || entries[0].Name != first || entries[1].Name != second {
		t.Fatalf("new/ = %v: the retried job lost its place", entries)
	}
	got, err := j.Read(spool.New, first)
	if err != nil || got.Commit != job.Commit || len(got.Attempts) != 1 || got.Attempts[0].Reason != "disk full" {
		t.Errorf("retried job = %+v, %v; want its commit pinned and one attempt", got, err)
	}
	if file, _ := os.ReadFile(sp.Path(spool.New, first)); strings.Contains(string(file), "attempts") {
		t.Errorf("the attempts are in the job file: %s", file)
	}
	if cur, _ := sp.List(spool.Cur); len(cur) != 0 {
		t.Errorf("cur/ = %v", cur)
	}
	// Done at last: the job and its attempts go.
	j.Claim(first)
	if err := j.Finish(first); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sp.Path(spool.Attempts, first)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the attempts outlived the job: %v", err)
	}
}

func TestRetryOnAFullDiskStillRequeues(t *testing.T) {
	j := openJobs(t)
	sp := j.Spool()
	name := write(t, j, job)
	j.Claim(name)
	// A file where spool/attempts/ was stands in for a full disk here; the end-to-end test
	// fills a real one.
	os.RemoveAll(sp.Path(spool.Attempts, ""))
	os.WriteFile(sp.Path(spool.Attempts, ""), nil, 0o644)
	queued, err := j.Retry(name, job, WithAttempt(nil, time.Now(), "x"))
	if err == nil {
		t.Fatal("Retry reported success without recording the attempt")
	}
	if entries, _ := sp.List(spool.New); len(entries) != 1 || entries[0].Name != queued {
		t.Errorf("the job is not back in new/: %v (%v)", entries, err)
	}
}

func TestSetAsideKeepsTheFileWithItsReason(t *testing.T) {
	j := openJobs(t)
	sp := j.Spool()
	name := write(t, j, job)
	j.Claim(name)
	writeAttempts(sp, name, WithAttempt(nil, time.Now(), "x"))
	dest, err := j.SetAside(spool.Cur, name, "attempt 1: x")
	if err != nil {
		t.Fatal(err)
	}
	if reason, _ := os.ReadFile(dest + ".reason"); string(reason) != "attempt 1: x\n" {
		t.Errorf("reason = %q", reason)
	}
	if readAttempts(sp, name) != nil {
		t.Error("the attempts stayed behind")
	}
}

func TestCancelQueuedClaimsThenRemoves(t *testing.T) {
	j := openJobs(t)
	name := write(t, j, job)
	if err := j.CancelQueued(name); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{spool.New, spool.Cur} {
		if entries, _ := j.Spool().List(sub); len(entries) != 0 {
			t.Errorf("%s/ = %v", sub, entries)
		}
	}
	if err := j.CancelQueued(name); !errors.Is(err, spool.ErrClaimed) {
		t.Errorf("canceling a job that is gone = %v, want ErrClaimed", err)
	}
}

// TestACancelRecordOnlyGetsStronger: an operator's cancel is never undone by the shutdown
// that follows it, whichever writes first, even when both write at once.
func TestACancelRecordOnlyGetsStronger(t *testing.T) {
	j := openJobs(t)
	name := write(t, j, job)
	j.Claim(name)
	if wrote, err := j.Cancel(name, Cancel{Stopped, StoppedReason}); !wrote || err != nil {
		t.Fatalf("first record: %v, %v", wrote, err)
	}
	if wrote, _ := j.Cancel(name, Cancel{Withdrawn, "canceled by hand"}); !wrote {
		t.Error("a withdrawal did not replace a shutdown's record")
	}
	if wrote, _ := j.Cancel(name, Cancel{Stopped, StoppedReason}); wrote {
		t.Error("a shutdown's record replaced a withdrawal")
	}
	if c := j.CancelOf(name); c.Kind != Withdrawn || c.Reason != "canceled by hand" {
		t.Errorf("record = %+v", c)
	}

	for i := 0; i < 20; i++ {
		name := write(t, j, job)
		j.Claim(name)
		var wg sync.WaitGroup
		for _, c := range []Cancel{{Stopped, StoppedReason}, {Withdrawn, "by hand"}, {Interrupted, "engine"}} {
			wg.Add(1)
			go func() { defer wg.Done(); j.Cancel(name, c) }()
		}
		wg.Wait()
		if c := j.CancelOf(name); c.Kind != Withdrawn {
			t.Fatalf("round %d: three writers at once left %+v, want the withdrawal", i, c)
		}
	}
}

func TestCancelOfAJobThatLeftCurLeavesNoRecord(t *testing.T) {
	j := openJobs(t)
	name := write(t, j, job)
	if wrote, err := j.Cancel(name, Cancel{Withdrawn, "x"}); wrote || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Cancel of a queued job = %v, %v", wrote, err)
	}
	if _, err := os.Lstat(CancelPath(j.Spool().Path(spool.Cur, name))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a record was left: %v", err)
	}
}

func TestReadCancelNeverBlocksOrTrustsWhatItCannotRead(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, ".a.cancel")
	syscall.Mkfifo(fifo, 0o644)
	done := make(chan Cancel)
	go func() { done <- ReadCancel(fifo) }()
	select {
	case c := <-done:
		if c.Kind != NotCanceled {
			t.Errorf("a FIFO reads as %+v", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reading a FIFO as a cancel record blocked")
	}
	garbled := filepath.Join(dir, ".b.cancel")
	os.WriteFile(garbled, []byte("{not json"), 0o644)
	if c := ReadCancel(garbled); c.Kind != Stopped {
		t.Errorf("a garbled record reads as %+v; want the weakest kind that keeps the job", c)
	}
}

func TestMarkersOfEarlierVersionsAreHonoured(t *testing.T) {
	dir := t.TempDir()
	job := filepath.Join(dir, "x.job")
	os.WriteFile(filepath.Join(dir, ".x.job.stopped"), []byte(StoppedReason+"\n"), 0o644)
	if c := ReadCancel(CancelPath(job)); c.Kind != Stopped || c.Reason != StoppedReason {
		t.Errorf("an old stop marker reads as %+v", c)
	}
	os.WriteFile(filepath.Join(dir, ".x.job.withdrawn"), []byte("canceled by hand\n"), 0o644)
	if c := ReadCancel(CancelPath(job)); c.Kind != Withdrawn {
		t.Errorf("an old withdraw marker beside a stop marker reads as %+v", c)
	}
	removeCancel(job)
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %v", entries)
	}
}

// TestClaimedAtIsTheClaimNotTheWrite: a job written long ago (its file's times say a day)
// is claimed now; a job that is not in cur/ has no claim.
func TestClaimedAtIsTheClaimNotTheWrite(t *testing.T) {
	j := openJobs(t)
	name := write(t, j, job)
	if !j.ClaimedAt(name).IsZero() {
		t.Errorf("a queued job has a claim time")
	}
	day := time.Now().Add(-24 * time.Hour)
	if err := os.Chtimes(j.Spool().Path(spool.New, name), day, day); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second) // the file system's clock is coarser than time.Now's
	if _, err := j.Claim(name); err != nil {
		t.Fatal(err)
	}
	if at := j.ClaimedAt(name); at.Before(before) || at.After(time.Now()) {
		t.Errorf("ClaimedAt = %v, want the claim's time, about %v", at, time.Now())
	}
}

// TestAJobNamedNearNameMaxIsClaimedUnderAShorterName: the records beside a claimed job are
// longer than its name; a job named near NAME_MAX is claimed under a fresh name, and its
// build can be canceled (its cancel record written) and retried (its attempts recorded).
func TestAJobNamedNearNameMaxIsClaimedUnderAShorterName(t *testing.T) {
	j := openJobs(t)
	sp := j.Spool()
	long := strings.Repeat("j", 250)
	os.WriteFile(sp.Path(spool.New, long), job.Encode(), 0o644)
	claimed, err := j.Claim(long)
	if err != nil || len(claimed) > 200 {
		t.Fatalf("Claim = %q, %v; want a name of at most 200 bytes", claimed, err)
	}
	if got, err := sp.Read(spool.Cur, claimed); err != nil || got.Key() != job.Key() {
		t.Fatalf("the claimed job is %+v, %v", got, err)
	}
	if _, err := j.Cancel(claimed, Cancel{Kind: Withdrawn, Reason: "by hand"}); err != nil {
		t.Errorf("the cancel record was not written: %v", err)
	}
	if err := writeAttempts(sp, claimed, WithAttempt(nil, time.Now(), "full disk")); err != nil {
		t.Errorf("the attempts were not recorded: %v", err)
	}
	if _, err := j.Claim(long); !errors.Is(err, spool.ErrClaimed) {
		t.Errorf("a second claim of it: %v, want ErrClaimed", err)
	}
}

// TestAClaimTakesNoStaleCancelRecord: a daemon killed between removing a finished job and
// its cancel record leaves the record; a later job of that name (a webhook writer with
// fixed names) is not canceled by it.
func TestAClaimTakesNoStaleCancelRecord(t *testing.T) {
	j := openJobs(t)
	sp := j.Spool()
	name := write(t, j, job)
	if _, err := j.Claim(name); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Cancel(name, Cancel{Kind: Withdrawn, Reason: "canceled by hand"}); err != nil {
		t.Fatal(err)
	}
	if err := sp.Remove(spool.Cur, name); err != nil { // the kill -9 came before forget
		t.Fatal(err)
	}
	os.WriteFile(sp.Path(spool.New, name), job.Encode(), 0o644)
	claimed, err := j.Claim(name)
	if err != nil {
		t.Fatal(err)
	}
	if c := j.CancelOf(claimed); c.Kind != NotCanceled {
		t.Errorf("the new job of that name is canceled by the old record: %+v", c)
	}
}
