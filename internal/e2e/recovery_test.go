package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/spool"
	"pipelined/internal/testenv"
)

// pidOf finds the process whose command line contains all of words.
func pidOf(t *testing.T, words ...string) int {
	t.Helper()
	var pid int
	testenv.Eventually(t, time.Minute, fmt.Sprintf("no process with %q", words), func() bool {
		paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range paths {
			data, _ := os.ReadFile(p)
			line := strings.ReplaceAll(string(data), "\x00", " ")
			all := line != ""
			for _, w := range words {
				all = all && strings.Contains(line, w)
			}
			if all {
				pid, _ = strconv.Atoi(strings.Split(p, "/")[2])
				return true
			}
		}
		return false
	})
	return pid
}

func TestKilledDaemonLosesAndRepeatsNothing(t *testing.T) {
	s := newSite(t)
	testenv.CleanDocker(t, s.workdir)
	repo := dockerRepo(t, `["/bin/sh", "-c", "sleep 4; echo done > /drop/done.txt"]`)
	s.writeConfig("[a]\nremote = %[1]s\nbuild = True\nrun = True\npull = False\n\n[b]\nremote = %[1]s\nprepare_callback = /bin/true\n\n[c]\nremote = %[1]s\n", repo.Remote)
	for _, p := range []string{"a", "b", "c"} {
		s.enqueue(p, "main")
	}
	p := s.daemon("--limit", "1", "--interval", "0")
	testenv.Eventually(t, 3*time.Minute, "a's container did not start", func() bool {
		for _, c := range testenv.Containers(t, s.workdir) {
			if strings.HasPrefix(c, "a-") {
				return true
			}
		}
		return false
	})
	p.cmd.Process.Kill() // kill -9
	p.wait(t, 10*time.Second)

	p = s.daemon("--limit", "1", "--interval", "0")
	testenv.Eventually(t, 3*time.Minute, "the three jobs did not all finish", func() bool { return len(s.finished()) == 3 })
	for _, project := range []string{"a", "b", "c"} {
		dirs := onlyDirs(filepath.Glob(filepath.Join(s.workdir, project, "*", "*")))
		if len(dirs) != 1 {
			t.Errorf("%s was built %d times: %v", project, len(dirs), dirs)
		}
	}
	for _, b := range s.finished() {
		if b.Result != "success" {
			t.Errorf("%s ended %s: %s", b.Project, b.Result, b.Reason)
		}
	}
	if !strings.Contains(p.stderr(), "adopted a running build") {
		t.Errorf("the new daemon did not adopt the running build:\n%s", p.stderr())
	}
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
	testenv.NoContainersLeft(t, s.workdir)
}

// TestKilledBuildIsMarkedFailedAndRetried: a pipeline-build killed by SIGKILL reached no
// result of its own. Its build.json says failed and why, its container is removed, the
// daemon goes on with the next job, and the job is retried after a back-off (SPEC §5.1).
func TestKilledBuildIsMarkedFailedAndRetried(t *testing.T) {
	s := newSite(t)
	testenv.CleanDocker(t, s.workdir)
	repo := dockerRepo(t, `["/bin/sleep", "300"]`)
	s.writeConfig("[a]\nremote = %[1]s\nbuild = True\nrun = True\npull = False\n\n[b]\nremote = %[1]s\n", repo.Remote)
	s.enqueue("a", "main")
	s.enqueue("b", "main")
	p := s.daemon("--interval", "0")
	testenv.Eventually(t, 3*time.Minute, "a's container did not start", func() bool {
		c := testenv.Containers(t, s.workdir)
		return len(c) == 1 && strings.HasPrefix(c[0], "a-")
	})
	syscall.Kill(pidOf(t, "pipeline-build", s.workdir), syscall.SIGKILL)
	testenv.Eventually(t, time.Minute, "the daemon did not go on with b", func() bool { return s.hasBuild("b", "refs/heads/main", repo.Head()) })
	var a string
	testenv.Eventually(t, time.Minute, "the killed build was not recorded", func() bool {
		for _, b := range s.finished() {
			if b.Project == "a" {
				a = b.Result + ": " + b.Reason
			}
		}
		return a != ""
	})
	if !strings.HasPrefix(a, "failed: the build process was killed by signal 9") {
		t.Errorf("the killed build is recorded as %q", a)
	}
	testenv.Eventually(t, time.Minute, "the job was not retried", func() bool {
		return strings.Contains(p.stderr(), "outcome=retry") && len(s.buildDirs("a", "refs%2Fheads%2Fmain")) == 2
	})
	if !strings.Contains(p.stderr(), "attempt=1") {
		t.Errorf("the retry does not count the attempt:\n%s", p.stderr())
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(t, time.Minute); code != 0 {
		t.Errorf("exit %d", code)
	}
	testenv.NoContainersLeft(t, s.workdir)
	if q := s.jobsIn(spool.New); len(q) != 1 {
		t.Errorf("the retried job was not kept for the next start: new/ = %v", q)
	}
}

func TestKilledWatcherIsRestarted(t *testing.T) {
	// The daemon polls in passes of pipeline-watch --once. A pass killed halfway (here one
	// stuck on a remote that never answers) loses nothing: the next pass polls again, and
	// the healthy remote's new commit is built.
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	hung := "git://" + testenv.HangingServer(t) + "/hung.git"
	s.writeConfig("[p]\nremote = %s\nbranches = main\n\n[h]\nremote = %s\nbranches = main\n", repo.Remote, hung)
	p := s.daemon("--interval", "1", "--poll-timeout", "60")
	testenv.Eventually(t, time.Minute, "main was not built", func() bool { return len(s.finished()) == 1 })
	// The pass stuck on the hung remote: the first, over every remote (no --project);
	// the healthy remote is polled meanwhile in passes of its own.
	syscall.Kill(pidOf(t, "pipeline-watch", s.workdir, "--timeout 60 --done-fd"), syscall.SIGKILL)
	testenv.Eventually(t, 30*time.Second, "the pass's death was not noticed", func() bool {
		return strings.Contains(p.stderr(), "a pass of pipeline-watch failed")
	})
	next := repo.Commit("after the pass died", nil)
	repo.Push("main")
	testenv.Eventually(t, time.Minute, "no build after the pass died", func() bool { return s.hasBuild("p", "refs/heads/main", next) })
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}

func TestStatusAndEnqueueWithAndWithoutTheDaemon(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[slow]\nremote = %s\nprepare_callback = /bin/sleep 3\n", repo.Remote)
	status := func() string {
		res := run(t, nil, bin.pipelined, "status", "--workdir", s.workdir)
		if res.code != 0 {
			t.Fatalf("pipelined status: exit %d\n%s", res.code, res.stderr)
		}
		return res.stdout
	}
	// Stopped: enqueue queues, status shows it.
	s.enqueue("slow", "main")
	if out := status(); !strings.Contains(out, "QUEUED (1)") || !strings.Contains(out, "slow  refs/heads/main") {
		t.Errorf("status with one queued job:\n%s", out)
	}
	// Running: the job runs, status shows it running.
	p := s.daemon("--interval", "0")
	testenv.Eventually(t, time.Minute, "status never showed the running build", func() bool {
		out := status()
		return strings.Contains(out, "RUNNING (1)") && strings.Contains(out, "running ")
	})
	// The same commit again, asked for as a rebuild: it waits for the running build.
	s.enqueue("--rebuild", "slow", "refs/heads/main", repo.Head())
	if out := status(); !strings.Contains(out, "QUEUED (1)") {
		t.Errorf("status with a job queued behind a running build:\n%s", out)
	}
	testenv.Eventually(t, time.Minute, "the builds did not finish", func() bool { return len(s.finished()) == 2 })
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
	out := status()
	if !strings.Contains(out, "QUEUED (0)") || !strings.Contains(out, "RUNNING (0)") || !strings.Contains(out, "success") ||
		!strings.Contains(out, "2 builds") || !strings.Contains(out, "DAEMON not running") {
		t.Errorf("status after the builds:\n%s", out)
	}
	// Refusals: an unknown project, a ref git rejects.
	for _, args := range [][]string{{"nope", "main"}, {"slow", "refs/heads/a..b"}} {
		res := run(t, nil, bin.pipelined, append([]string{"enqueue", "--config", s.config, "--workdir", s.workdir}, args...)...)
		if res.code != 2 {
			t.Errorf("enqueue %v: exit %d, want 2\n%s", args, res.code, res.stderr)
		}
	}
}

// TestBadJobFilesGoToBadWithAReason drops hostile files next to a valid job and a running
// build: each bad one ends in bad/ with its reason, the rest goes on.
func TestBadJobFilesGoToBadWithAReason(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[p]\nremote = %s\nprepare_callback = /bin/sleep 2\n\n[off]\nremote = %s\nenabled = False\n", repo.Remote, repo.Remote)
	s.enqueue("p", "main")
	p := s.daemon("--interval", "0", "--limit", "1")
	testenv.Eventually(t, time.Minute, "the first build did not start", func() bool { return s.running() == 1 })
	c := repo.Head()
	bad := map[string]string{
		"not-json.job":       "this is not json",
		"too-large.job":      `{"project":"p","ref":"refs/heads/main","source":"` + strings.Repeat("x", 5000) + `"}`,
		"unknown.job":        `{"project":"nope","ref":"refs/heads/main"}`,
		"disabled.job":       `{"project":"off","ref":"refs/heads/main"}`,
		"traversal.job":      `{"project":"../p","ref":"refs/heads/main"}`,
		"dash.job":           `{"project":"p","ref":"refs/heads/--upload-pack=x"}`,
		"short-commit.job":   `{"project":"p","ref":"refs/heads/main","commit":"abc"}`,
		"upper-commit.job":   `{"project":"p","ref":"refs/heads/main","commit":"` + strings.ToUpper(c) + `"}`,
		"extra-keys.job":     `{"project":"p","ref":"refs/heads/main","remote":"/tmp/evil.git"}`,
		"newline-in-ref.job": `{"project":"p","ref":"refs/heads/a\nlevel=ERROR msg=forged"}`,
	}
	for name, content := range bad {
		s.dropJob(name, content)
	}
	s.dropJob("valid.job", `{"project":"p","ref":"refs/heads/main","source":"webhook"}`)
	badDir := filepath.Join(s.workdir, ".pipelined", "spool", "bad")
	testenv.Eventually(t, time.Minute, "not every bad file reached bad/ with its reason", func() bool {
		// The reason is written (under a dot name, then renamed) after the move.
		reasons, _ := filepath.Glob(filepath.Join(badDir, "*.reason"))
		return len(reasons) == len(bad)
	})
	if entries, _ := os.ReadDir(badDir); len(entries) != 2*len(bad) {
		t.Errorf("bad/ holds %d files, want %d", len(entries), 2*len(bad))
	}
	for name := range bad {
		reason, err := os.ReadFile(filepath.Join(badDir, name+".reason"))
		if err != nil || len(strings.TrimSpace(string(reason))) == 0 {
			t.Errorf("%s has no reason beside it: %v", name, err)
		}
	}
	testenv.Eventually(t, time.Minute, "the valid job and the running build did not both finish", func() bool { return len(s.finished()) == 2 })
	for _, b := range s.finished() {
		if b.Result != "success" {
			t.Errorf("%s ended %s", b.Project, b.Result)
		}
	}
	if strings.Contains(p.stderr(), "\nlevel=ERROR msg=forged") {
		t.Errorf("a ref name forged a log line:\n%s", p.stderr())
	}
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}

func TestDaemonRemovesOrphanContainersAtStart(t *testing.T) {
	s := newSite(t)
	testenv.CleanDocker(t, s.workdir)
	testenv.RequireBaseImage(t)
	// Only a work directory with a project that uses Docker asks the engine at all.
	s.writeConfig("[p]\nremote = /nonexistent.git\nbuild = True\n")
	orphan := "orphan-" + strconv.Itoa(os.Getpid())
	other := "not-ours-" + strconv.Itoa(os.Getpid())
	for _, c := range [][]string{
		{"--name", orphan, "--label", "pipelined.workdir=" + s.workdir, "--label", "pipelined.build=" + filepath.Join(s.workdir, "p", "gone")},
		{"--name", other, "--label", "pipelined.workdir=/some/other/workdir"},
	} {
		if res := run(t, nil, "docker", append(append([]string{"create"}, c...), testenv.BaseImage, "sleep", "300")...); res.code != 0 {
			t.Fatalf("docker create: %s", res.stderr)
		}
	}
	t.Cleanup(func() { run(t, nil, "docker", "rm", "-f", other) })
	p := s.daemon("--interval", "0")
	testenv.NoContainersLeft(t, s.workdir)
	if res := run(t, nil, "docker", "container", "inspect", other); res.code != 0 {
		t.Errorf("a container of another work directory was removed")
	}
	if !eventuallyLogged(p, func() bool { return strings.Contains(p.stderr(), "removed an orphan container") }) {
		t.Errorf("the removal was not logged:\n%s", p.stderr())
	}
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}

// TestDaemonWaitsForAMissingPipelineBuild: when pipeline-build cannot be started (deleted
// during an upgrade), the job goes back into the queue and the daemon retries after a
// pause instead of spinning; once the binary is back, the job runs.
func TestDaemonWaitsForAMissingPipelineBuild(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[p]\nremote = %s\n", repo.Remote)
	dir := filepath.Join(s.dir, "bin")
	os.MkdirAll(dir, 0o755)
	for _, b := range []string{bin.pipelined, bin.watch, bin.build} {
		data, err := os.ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, filepath.Base(b)), data, 0o755)
	}
	p := startProcess(t, filepath.Join(dir, "pipelined"), "--config", s.config, "--workdir", s.workdir, "--interval", "0")
	testenv.Eventually(t, 30*time.Second, "pipelined did not start", func() bool { return strings.Contains(p.stderr(), "msg=started") })
	hidden := filepath.Join(s.dir, "pipeline-build.away")
	os.Rename(filepath.Join(dir, "pipeline-build"), hidden)
	s.enqueue("p", "main")
	testenv.Eventually(t, 30*time.Second, "the failed start was not reported", func() bool {
		return strings.Contains(p.stderr(), "cannot start pipeline-build")
	})
	if q := s.queued(); len(q) != 1 {
		t.Errorf("the job is not back in the queue: %v", q)
	}
	os.Rename(hidden, filepath.Join(dir, "pipeline-build"))
	testenv.Eventually(t, time.Minute, "the job did not run once pipeline-build was back", func() bool { return len(s.finished()) == 1 })
	if n := strings.Count(p.stderr(), "cannot start pipeline-build"); n > 2 {
		t.Errorf("the daemon retried %d times within the pause instead of waiting", n)
	}
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}
