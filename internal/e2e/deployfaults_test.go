package e2e

// Faults a deploy falls through when they come at the worst moment: FIFOs where the daemon
// reads its own state, a notify socket nobody reads, names near NAME_MAX, a shutdown or a
// cancel while a build resolves its commit, builds adopted early, redeliveries (issue 18).

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
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

// TestANotifySocketNobodyReadsBlocksNothing: $NOTIFY_SOCKET names a socket whose reader
// does not read (a systemd that hangs, a stale variable naming another program's socket).
// Its queue fills after a few datagrams (net.unix.max_dgram_qlen, 10 by default), and a
// send then blocks: the daemon still builds every job and stops on SIGTERM.
func TestANotifySocketNobodyReadsBlocksNothing(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[p]\nremote = %s\nwatch = False\n", repo.Remote)
	sock := filepath.Join(s.dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	p := startProcessEnv(t, []string{"NOTIFY_SOCKET=" + sock}, bin.pipelined, "--config", s.config, "--workdir", s.workdir, "--interval", "3600")
	const jobs = 12 // each start and end of a build sends a status: more than the queue holds
	for i := range jobs {
		repo.PushRef(repo.Head(), fmt.Sprintf("refs/heads/b%d", i))
		s.dropJob(fmt.Sprintf("b%d.job", i), fmt.Sprintf(`{"project": "p", "ref": "refs/heads/b%d", "commit": %q}`, i, repo.Head()))
	}
	waitFor(t, p, 2*time.Minute, "not every job was built", func() bool {
		for i := range jobs {
			if !s.hasBuild("p", fmt.Sprintf("refs/heads/b%d", i), repo.Head()) {
				return false
			}
		}
		return true
	})
	p.signal(syscall.SIGTERM)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit %d:\n%s", code, p.stderr())
	}
}

// TestAJobNamedNearNameMaxCanBeCanceled: pipelined cancel of the running build of a job whose
// name is near NAME_MAX records why beside the job (.NAME.cancel, 8 bytes longer) and stops
// it; the job is removed, not built again.
func TestAJobNamedNearNameMaxCanBeCanceled(t *testing.T) {
	s := newDeploySite(t, "held", "")
	p := s.daemon("--interval", "3600")
	s.dropJob(strings.Repeat("j", 250), fmt.Sprintf(`{"project": "p", "ref": "refs/heads/main", "commit": %q}`, s.repo.Head()))
	waitFor(t, p, time.Minute, "the job's build did not start", func() bool { return s.running() == 1 })
	if res := run(t, nil, bin.pipelined, "cancel", "--config", s.config, "--workdir", s.workdir, "p"); res.code != 0 {
		t.Fatalf("pipelined cancel: exit %d\n%s", res.code, res.stderr)
	}
	waitFor(t, p, time.Minute, "the canceled job was not removed", func() bool {
		return s.running() == 0 && len(s.claimed()) == 0 && len(s.queued()) == 0
	})
	if got := s.deploys("main"); len(got) != 0 {
		t.Errorf("a canceled job deployed %v", got)
	}
	p.signal(syscall.SIGTERM)
	p.wait(t, time.Minute)
}

// TestAShutdownWhileABuildResolvesCountsNoAttempt: SIGTERM to the daemon while a build of a
// job without a commit still asks the remote for it (here a remote that hangs). The build
// was canceled by the shutdown, not stopped by an infrastructure error: its job is requeued
// as it was, no attempt counted — five restarts at that moment would set it aside.
func TestAShutdownWhileABuildResolvesCountsNoAttempt(t *testing.T) {
	s := newSite(t)
	remote := "git://" + testenv.HangingServer(t) + "/resolves-during-a-shutdown.git"
	s.writeConfig("[p]\nremote = %s\nwatch = False\n", remote)
	p := s.daemon("--interval", "3600")
	s.dropJob("hook.job", `{"project": "p", "ref": "refs/heads/main"}`)
	waitFor(t, p, time.Minute, "the build did not ask the remote", func() bool {
		return len(testenv.ProcessesMentioning(remote)) > 0
	})
	p.signal(syscall.SIGTERM)
	p.wait(t, time.Minute)
	if logCount(p, "build finished", "job=hook.job", "outcome=requeued") != 1 {
		t.Errorf("the job was not requeued:\n%s", p.stderr())
	}
	if attempts, _ := os.ReadDir(filepath.Join(s.workdir, ".pipelined", "spool", "attempts")); len(attempts) != 0 {
		t.Errorf("an attempt was counted:\n%s", p.stderr())
	}
	if queued := s.queued(); len(queued) != 1 {
		t.Errorf("queued %v, want the job", queued)
	}
}

// TestABuildAdoptedBeforeItsStatusIsStoppedByTheNextShutdown: the daemon is killed (kill -9)
// while a build still asks the remote for its commit, before it has a build directory or
// build.json; the next daemon adopts it, and its SIGTERM cancels it like any build it
// started: the job is requeued, no attempt counted.
func TestABuildAdoptedBeforeItsStatusIsStoppedByTheNextShutdown(t *testing.T) {
	s := newSite(t)
	remote := "git://" + testenv.HangingServer(t) + "/adopted-while-it-resolves.git"
	s.writeConfig("[p]\nremote = %s\nwatch = False\n", remote)
	p := s.daemon("--interval", "3600")
	s.dropJob("hook.job", `{"project": "p", "ref": "refs/heads/main"}`)
	waitFor(t, p, time.Minute, "the build did not ask the remote", func() bool {
		return len(testenv.ProcessesMentioning(remote)) > 0
	})
	p.signal(syscall.SIGKILL)
	p.wait(t, time.Minute)
	p = s.daemon("--interval", "3600")
	waitFor(t, p, time.Minute, "the build was not adopted", func() bool {
		return strings.Contains(p.stderr(), "running=1")
	})
	p.signal(syscall.SIGTERM)
	p.wait(t, time.Minute)
	if logCount(p, "build finished", "job=hook.job", "outcome=requeued") != 1 {
		t.Errorf("the job was not requeued:\n%s", p.stderr())
	}
	if queued := s.queued(); len(queued) != 1 {
		t.Errorf("queued %v, want the job", queued)
	}
	if procs := testenv.ProcessesMentioning(remote); len(procs) != 0 {
		t.Errorf("the adopted build outlived the shutdown: %q", procs)
	}
}

// gatedProxy forwards TCP connections to addr once open is closed: a remote that answers
// late. waiting counts the connections held.
type gatedProxy struct {
	addr    string
	open    chan struct{}
	waiting atomic.Int32
}

func newGatedProxy(t *testing.T, to string) *gatedProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedProxy{addr: l.Addr().String(), open: make(chan struct{})}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				g.waiting.Add(1)
				<-g.open
				g.waiting.Add(-1)
				up, err := net.Dial("tcp", to)
				if err != nil {
					return
				}
				defer up.Close()
				go io.Copy(up, c)
				io.Copy(c, up)
			}()
		}
	}()
	return g
}

// TestACancelWhileTheBuildResolvesIsKept: pipelined cancel of a job whose build still asks
// the remote for its commit (no build.json yet) finds no process to signal: the build must
// read the cancel record once it has resolved, rather than build and deploy.
func TestACancelWhileTheBuildResolvesIsKept(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	daemonURL := testenv.GitDaemon(t, filepath.Dir(repo.Remote))
	proxy := newGatedProxy(t, strings.TrimSuffix(strings.TrimPrefix(daemonURL, "git://"), "/"))
	ledger := filepath.Join(s.dir, "ledger")
	deploy := s.file("deploy.sh", "#!/bin/sh\necho \"$BUILD_COMMIT\" >> "+ledger+"\n", 0o755)
	s.writeConfig("[p]\nremote = git://%s/%s\nwatch = False\nsuccess_callback = %s\n", proxy.addr, filepath.Base(repo.Remote), deploy)
	p := s.daemon("--interval", "3600")
	s.dropJob("hook.job", `{"project": "p", "ref": "refs/heads/main"}`)
	waitFor(t, p, time.Minute, "the build did not ask the remote", func() bool { return proxy.waiting.Load() > 0 })
	res := run(t, nil, bin.pipelined, "cancel", "--workdir", s.workdir, "p")
	close(proxy.open)
	if res.code != 0 {
		t.Fatalf("pipelined cancel: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	waitFor(t, p, time.Minute, "the build did not end", func() bool { return logCount(p, "build finished", "job=hook.job") == 1 })
	if data, _ := os.ReadFile(ledger); len(data) != 0 {
		t.Errorf("a canceled build deployed %s", data)
	}
	if logCount(p, "build finished", "job=hook.job", "outcome=withdrawn") != 1 {
		t.Errorf("the job was not withdrawn:\n%s", p.stderr())
	}
}

// TestARedeliveryOfAnOlderCommitLosesNoNewerOne: a forge redelivers the push of a commit
// built long ago while a newer commit waits for the running build of its ref. The
// redelivery costs nothing, and the newer commit is still deployed last.
func TestARedeliveryOfAnOlderCommitLosesNoNewerOne(t *testing.T) {
	s := newDeploySite(t, "a", "")
	p := s.daemon("--interval", "3600")
	job := func(name, commit string) {
		s.dropJob(name, fmt.Sprintf(`{"project": "p", "ref": "refs/heads/main", "commit": %q, "source": "webhook"}`, commit))
	}
	a := s.repo.Head()
	job("a.job", a)
	waitFor(t, p, time.Minute, "the first commit was not deployed", func() bool { return len(s.deploys("main")) == 1 })
	held := s.repo.Commit("held", map[string]string{"version": "held\n"})
	s.repo.Push("main")
	job("held.job", held)
	waitFor(t, p, time.Minute, "the held build did not start", func() bool { return s.running() == 1 })
	newest := s.repo.Commit("newest", map[string]string{"version": "c\n"})
	s.repo.Push("main")
	job("newest.job", newest)
	waitFor(t, p, time.Minute, "the newest job was not queued", func() bool { return len(s.queued()) == 1 })
	job("a-redelivered.job", a)
	waitFor(t, p, time.Minute, "the redelivery was not dropped", func() bool {
		return logCount(p, "dropped a job", "job=a-redelivered.job") == 1
	})
	os.Remove(s.gate)
	waitFor(t, p, time.Minute, "the builds did not settle", func() bool {
		return len(s.queued()) == 0 && len(s.claimed()) == 0 && s.running() == 0
	})
	if got, want := short(s.deploys("main")), short([]string{a, held, newest}); !slices.Equal(got, want) {
		t.Errorf("deploys %v, want %v:\n%s", got, want, p.stderr())
	}
}
