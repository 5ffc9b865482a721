package spool

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

func claimedJob(t *testing.T) (*Spool, string) {
	s := openSpool(t)
	name, err := s.Write(job)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Claim(name); err != nil {
		t.Fatal(err)
	}
	return s, name
}

func TestHoldLocksAJobAgainstASecondBuild(t *testing.T) {
	s, name := claimedJob(t)
	path := s.Path(Cur, name)
	h, err := Hold(path)
	if err != nil {
		t.Fatal(err)
	}
	if h.Job.Project != job.Project || h.Job.Commit != job.Commit {
		t.Errorf("held job = %+v", h.Job)
	}
	if !Locked(path) {
		t.Error("Locked is false while a build holds the job")
	}
	if _, err := Hold(path); !errors.Is(err, ErrLocked) {
		t.Errorf("second Hold = %v, want ErrLocked", err)
	}
	h.Release()
	if Locked(path) {
		t.Error("Locked is true after the lock was released")
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("Release removed the job file; only the supervisor may: %v", err)
	}
}

// TestProbingNeverMakesAHoldFail is the fault behind `pipelined status` losing jobs: a
// probe loop beside builds taking their locks. Every Hold must succeed.
func TestProbingNeverMakesAHoldFail(t *testing.T) {
	s, name := claimedJob(t)
	path := s.Path(Cur, name)
	var stop atomic.Bool
	var wg sync.WaitGroup
	probes := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			Locked(path)
			probes++
		}
	}()
	for i := 0; i < 2000; i++ {
		h, err := Hold(path)
		if err != nil {
			stop.Store(true)
			wg.Wait()
			t.Fatalf("Hold %d failed beside a probe loop: %v", i, err)
		}
		h.Release()
	}
	stop.Store(true)
	wg.Wait()
	if probes == 0 {
		t.Fatal("the probe loop never ran")
	}
}

// TestLockOfAnotherProcess: the probe sees a lock held by another process, and
// WaitUnlocked returns once that process lets go.
func TestLockOfAnotherProcess(t *testing.T) {
	s, name := claimedJob(t)
	path := s.Path(Cur, name)
	holder := exec.Command(os.Args[0], "-test.run=NONE")
	holder.Env = append(os.Environ(), "SPOOL_HOLDER="+path)
	stdin, _ := holder.StdinPipe()
	stdout, _ := holder.StdoutPipe()
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "held\n" {
		t.Fatalf("the holder did not take the lock: %q", line)
	}
	if !Locked(path) {
		t.Error("the probe does not see the other process's lock")
	}
	done := make(chan struct{})
	go func() { WaitUnlocked(path); close(done) }()
	select {
	case <-done:
		t.Fatal("WaitUnlocked returned while the lock was held")
	default:
	}
	stdin.Close()
	holder.Wait()
	<-done // returns once the holder is gone; the test's deadline bounds it
	if Locked(path) {
		t.Error("still locked after the holder exited")
	}
}

func TestOneDaemonPerWorkDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pipelined.pid")
	first, err := LockDaemon(path)
	if err != nil {
		t.Fatal(err)
	}
	if pid, held := DaemonPID(path); !held || pid != os.Getpid() {
		t.Errorf("DaemonPID = %d, %v; want %d, true", pid, held, os.Getpid())
	}
	_, err = LockDaemon(path)
	var running *DaemonRunningError
	if !errors.As(err, &running) || running.PID != os.Getpid() {
		t.Fatalf("second LockDaemon = %v, want a DaemonRunningError naming pid %d", err, os.Getpid())
	}
	first.Close()
	if _, held := DaemonPID(path); held {
		t.Error("DaemonPID says held after Close")
	}
	again, err := LockDaemon(path)
	if err != nil {
		t.Fatalf("LockDaemon after the first closed: %v", err)
	}
	again.Close()
}

// TestLockHandedDown: the supervisor locks a claimed job and hands the file down; the
// build takes it over, and the job is held throughout, with no moment unlocked.
func TestLockHandedDown(t *testing.T) {
	s, name := claimedJob(t)
	path := s.Path(Cur, name)
	f, err := s.Lock(name)
	if err != nil {
		t.Fatal(err)
	}
	if !Locked(path) {
		t.Fatal("not locked after Lock")
	}
	if _, err := Hold(path); !errors.Is(err, ErrLocked) {
		t.Errorf("a second build could hold the locked job: %v", err)
	}
	h, err := HoldFile(f, path)
	if err != nil {
		t.Fatal(err)
	}
	if h.Job.Project != job.Project {
		t.Errorf("job = %+v", h.Job)
	}
	other, _ := claimedJob(t)
	if _, err := HoldFile(f, other.Path(Cur, "nope")); err == nil {
		t.Error("HoldFile accepted a path that is not the file handed down")
	}
	h.Release()
	if Locked(path) {
		t.Error("still locked after Release")
	}
}
