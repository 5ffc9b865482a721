package e2e

// A full or blocked disk loses no job (issue "Nothing wanted is ever lost", SPEC §5.1, §8):
// the jobs wait, are retried, or end in bad/ with every reason.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/outcome"
	"pipelined/internal/spool"
	"pipelined/internal/testenv"
)

// fill writes a file into dir until the file system is full, and returns its path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	for { // the last pages, byte by byte
		if _, err := f.Write(chunk[:512]); err != nil {
			break
		}
	}
	return path
}

// daemonWithoutDAC starts pipelined as root without CAP_DAC_OVERRIDE and
// CAP_DAC_READ_SEARCH, so that file permissions apply to it as to any user.
func (s *site) daemonWithoutDAC(args ...string) *process {
	s.t.Helper()
	testenv.Require(s.t, "setpriv")
	argv := append([]string{"--bounding-set", "-dac_override,-dac_read_search", "--", bin.pipelined,
		"--config", s.config, "--workdir", s.workdir}, args...)
	p := startProcess(s.t, "setpriv", argv...)
	testenv.Eventually(s.t, 30*time.Second, "pipelined did not start", func() bool {
		return strings.Contains(p.stderr(), "msg=started") || p.exited()
	})
	if p.exited() {
		s.t.Fatalf("pipelined exited at start:\n%s", p.stderr())
	}
	return p
}

// TestFullDiskLosesNoJob: with the work directory's disk full, every build fails to start;
// each job is kept (retried with back-off), the log says why, and once there is room
// again every job builds.
func TestFullDiskLosesNoJob(t *testing.T) {
	s := newSite(t)
	testenv.MountTmpfs(t, s.workdir, "8m")
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[a]\nremote = %[1]s\n\n[b]\nremote = %[1]s\n\n[c]\nremote = %[1]s\n", repo.Remote)
	p := s.daemon("--interval", "0")
	head := repo.Head()
	names := s.prepareJobs(t, spool.Job{Project: "a", Ref: "refs/heads/main", Commit: head, Source: "webhook"},
		spool.Job{Project: "b", Ref: "refs/heads/main", Commit: head, Source: "webhook"},
		spool.Job{Project: "c", Ref: "refs/heads/main", Source: "webhook"})
	filler := fill(t, s.workdir)
	s.deliver(t, names)

	testenv.Eventually(t, time.Minute, "the three jobs were not each tried and kept", func() bool {
		return logCount(p, "build finished", "outcome=retry") >= 3
	})
	if !strings.Contains(p.stderr(), "no space left on device") {
		t.Errorf("the log does not say why:\n%s", p.stderr())
	}
	queued := len(s.jobsIn(spool.New)) + len(s.jobsIn(spool.Cur))
	bad, _ := filepath.Glob(filepath.Join(s.workdir, ".pipelined", "spool", "bad", "*"))
	if queued+len(bad) != 3 || len(bad) != 0 {
		t.Errorf("after the first attempts: %d jobs queued or claimed, bad/ = %v; want all 3 kept in the queue", queued, bad)
	}
	os.Remove(filler)
	testenv.Eventually(t, 2*time.Minute, "the jobs did not all build once the disk had room", func() bool {
		n := s.successes()
		return n["a refs/heads/main "+head] == 1 && n["b refs/heads/main "+head] == 1 && n["c refs/heads/main "+head] == 1
	})
	p.signal(syscall.SIGINT)
	if code := p.wait(t, time.Minute); code != 0 {
		t.Errorf("exit %d", code)
	}
	if left := append(s.jobsIn(spool.New), s.jobsIn(spool.Cur)...); len(left) != 0 {
		t.Errorf("jobs left in the spool: %v", left)
	}
}

// TestBlockedProjectDirectoryLosesNoJob: a read-only project directory, and a file where a
// project directory should be: the jobs are retried, set aside after five attempts, and
// build once the fault is cleared.
func TestBlockedProjectDirectoryLosesNoJob(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[ro]\nremote = %[1]s\n\n[file]\nremote = %[1]s\n", repo.Remote)
	os.MkdirAll(filepath.Join(s.workdir, "ro"), 0o755)
	os.Chmod(filepath.Join(s.workdir, "ro"), 0o555)
	s.file("work/file", "not a directory\n", 0o644)
	s.enqueue("ro", "main", repo.Head())
	s.enqueue("file", "main", repo.Head())
	p := s.daemonWithoutDAC("--interval", "0")
	testenv.Eventually(t, time.Minute, "the blocked jobs were not retried", func() bool {
		return logCount(p, "build finished", "project=ro", "outcome=retry") >= 1 &&
			logCount(p, "build finished", "project=file", "outcome=retry") >= 1
	})
	for _, want := range []string{"permission denied", "not a directory"} {
		if !strings.Contains(p.stderr(), want) {
			t.Errorf("the log does not say %q:\n%s", want, p.stderr())
		}
	}
	if n := len(s.jobsIn(spool.New)) + len(s.jobsIn(spool.Cur)); n != 2 {
		t.Errorf("%d jobs kept, want 2", n)
	}
	st, err := spool.Open(filepath.Join(s.workdir, ".pipelined", "spool"))
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := st.List(spool.New)
	for _, e := range entries {
		if j, err := outcome.NewJobs(st).Read(spool.New, e.Name); err != nil || len(j.Attempts) == 0 {
			t.Errorf("job %s does not record its attempt: %+v, %v", e.Name, j, err)
		}
	}
	// Clearing the fault: both build at their next attempt.
	os.Chmod(filepath.Join(s.workdir, "ro"), 0o755)
	os.Remove(filepath.Join(s.workdir, "file"))
	waitFor(t, p, 2*time.Minute, "the jobs did not build once the fault was cleared", func() bool {
		n := s.successes()
		return n["ro refs/heads/main "+repo.Head()] == 1 && n["file refs/heads/main "+repo.Head()] == 1
	})
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}

// TestJobGoesToBadAfterFiveAttempts: a fault that does not clear ends in bad/ with every
// attempt's reason.
func TestJobGoesToBadAfterFiveAttempts(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[file]\nremote = %s\n", repo.Remote)
	s.file("work/file", "not a directory\n", 0o644)
	// Four attempts already made, as a daemon before this one recorded them.
	sp, err := spool.Open(filepath.Join(s.workdir, ".pipelined", "spool"))
	if err != nil {
		t.Fatal(err)
	}
	j := spool.Job{Project: "file", Ref: "refs/heads/main", Commit: repo.Head(), Source: "manual"}
	long := time.Now().Add(-time.Hour)
	var attempts []spool.Attempt
	for i := 0; i < outcome.MaxAttempts-1; i++ {
		attempts = outcome.WithAttempt(attempts, long, fmt.Sprintf("earlier attempt %d", i+1))
	}
	name, err := sp.Write(j)
	if err != nil {
		t.Fatal(err)
	}
	recorded, _ := json.Marshal(attempts)
	s.file(filepath.Join("work", ".pipelined", "spool", "attempts", name), string(recorded), 0o644)
	p := s.daemon("--interval", "0")
	reason := filepath.Join(s.workdir, ".pipelined", "spool", "bad", name+".reason")
	testenv.Eventually(t, time.Minute, "the job did not go to bad/", func() bool { _, err := os.Stat(reason); return err == nil })
	text := readFile(t, reason)
	for _, want := range []string{"attempt 1 at", "earlier attempt 1", "attempt 5 at", "not a directory"} {
		if !strings.Contains(text, want) {
			t.Errorf("bad/%s.reason lacks %q:\n%s", name, want, text)
		}
	}
	waitFor(t, p, time.Minute, "the move to bad/ was not logged", func() bool {
		return logCount(p, "build finished", "outcome=retry", "attempt=5", "moved_to=") == 1
	})
	// The line also carries the end of pipeline-build's own stderr.
	if logCount(p, "build finished", "attempt=5", `stderr="pipeline-build: infrastructure error`) != 1 {
		t.Errorf("the log line lacks pipeline-build's stderr:\n%s", p.stderr())
	}
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}

// TestDiskFullDuringTheCloneIsRetried: a clone that fills the work directory's disk is an
// infrastructure error, not the project's failure: the job is kept and builds once there
// is room.
func TestDiskFullDuringTheCloneIsRetried(t *testing.T) {
	s := newSite(t)
	testenv.MountTmpfs(t, s.workdir, "6m")
	repo := testenv.NewRepo(t, nil)
	random := make([]byte, 8<<20)
	f, _ := os.Open("/dev/urandom")
	io.ReadFull(f, random)
	f.Close()
	big := repo.Commit("big", map[string]string{"big.bin": string(random)})
	repo.Push("main")
	s.writeConfig("[p]\nremote = %s\n", repo.Remote)
	s.enqueue("p", "main", big)
	p := s.daemon("--interval", "0")
	waitFor(t, p, time.Minute, "the full disk was not an infrastructure error", func() bool {
		return logCount(p, "build finished", "outcome=retry", "disk of the work directory is full") == 1
	})
	if n := len(s.jobsIn(spool.New)) + len(s.jobsIn(spool.Cur)); n != 1 {
		t.Fatalf("%d jobs kept, want 1", n)
	}
	// Room again: the retry builds it.
	if out, err := exec.Command("mount", "-o", "remount,size=64m", s.workdir).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v: %s", err, out)
	}
	waitFor(t, p, 2*time.Minute, "the job did not build once there was room", func() bool {
		return s.successes()["p refs/heads/main "+big] == 1
	})
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}
