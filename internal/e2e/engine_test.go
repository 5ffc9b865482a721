package e2e

// More than one build host: a pool of Docker engines. A second, real engine runs in
// namespaces of its own where the test's directory (the work directory among it) is
// hidden: a bind mount of a build path would see an empty directory.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/outcome"
	"pipelined/internal/testenv"
)

// engineRepo makes a repository whose run step copies a file of the checkout into the
// artifacts, says which engine it ran on, and sleeps a little (so that tests can see it
// run).
func engineRepo(t *testing.T, seconds int) *testenv.Repo {
	testenv.RequireBaseImage(t)
	return testenv.NewRepo(t, map[string]string{
		"Dockerfile":  "FROM " + testenv.BaseImage + "\nCMD [\"/bin/sh\", \"-c\", \"cp /build/payload.txt /drop/copied.txt && echo $BUILD_ENGINE > /drop/engine.txt && sleep " + strconv.Itoa(seconds) + "\"]\n",
		"payload.txt": "made on the build host\n",
	})
}

// noContainers waits until neither engine has a container of the work directory.
func noContainers(t *testing.T, s *site, second *testenv.Engine) {
	t.Helper()
	testenv.NoContainersLeft(t, s.workdir)
	testenv.Eventually(t, time.Minute, "containers left on the second engine", func() bool {
		return second.Output("ps", "--all", "--quiet", "--filter", "label=pipelined.workdir="+s.workdir) == ""
	})
}

func TestBuildsOnASecondEngineWithoutSharedDisk(t *testing.T) {
	s := newSite(t)
	testenv.CleanDocker(t, s.workdir)
	second := testenv.StartEngine(t, s.dir)
	repo := engineRepo(t, 3)
	s.writeConfig("[p]\nremote = %s\nbuild = True\nrun = True\npull = False\nengines = b2\n", repo.Remote)
	s.enqueue("p", "main", repo.Head())
	p := s.daemon("--interval", "0", "--engine", "local=,slots=1", "--engine", "b2="+second.Host+",slots=1")

	// While it runs: the container is on the second engine, with no bind mount.
	var mounts string
	waitFor(t, p, 3*time.Minute, "the container did not run on the second engine", func() bool {
		ids := second.Output("ps", "--quiet", "--filter", "label=pipelined.workdir="+s.workdir)
		if ids == "" {
			return false
		}
		mounts = second.Output("inspect", "--format", "{{json .Mounts}}", strings.Fields(ids)[0])
		return true
	})
	if strings.Contains(mounts, `"Type":"bind"`) || !strings.Contains(mounts, `"Destination":"/build"`) {
		t.Errorf("the container's mounts: %s", mounts)
	}
	waitFor(t, p, 3*time.Minute, "the build did not finish", func() bool { return len(s.finished()) == 1 })
	b := s.finished()[0]
	if b.Result != outcome.Success || b.Engine != "b2" || b.DockerHost != second.Host {
		t.Fatalf("build: %s on %q (%s): %s", b.Result, b.Engine, b.DockerHost, b.Reason)
	}
	if got := readFile(t, filepath.Join(b.Path, "drop", "copied.txt")); got != "made on the build host\n" {
		t.Errorf("drop/copied.txt = %q: the checkout did not reach the container", got)
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(b.Path, "drop", "engine.txt"))); got != "b2" {
		t.Errorf("BUILD_ENGINE in the container = %q", got)
	}
	log := readFile(t, filepath.Join(b.Path, "build.log"))
	for _, want := range []string{"==> engine b2 (" + second.Host + ")", "$ docker create", "$ docker cp -- ", "$ docker start --attach", "docker rm -f -v"} {
		if !strings.Contains(log, want) {
			t.Errorf("build.log lacks %q", want)
		}
	}
	st := run(t, nil, bin.pipelined, "status", "--workdir", s.workdir)
	if !strings.Contains(st.stdout, "ENGINES (2)") || !strings.Contains(st.stdout, "b2") || !strings.Contains(st.stdout, "up since") {
		t.Errorf("status does not show the engines:\n%s", st.stdout)
	}
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
	noContainers(t, s, second)
}

func TestBuildsOnAnEngineOverSSH(t *testing.T) {
	s := newSite(t)
	testenv.CleanDocker(t, s.workdir)
	second := testenv.StartEngine(t, s.dir)
	port, sshEnv := testenv.SSHD(t, second.Host)
	repo := engineRepo(t, 0)
	s.writeConfig("[p]\nremote = %s\nbuild = True\nrun = True\npull = False\n", repo.Remote)
	s.enqueue("p", "main", repo.Head())
	host := fmt.Sprintf("ssh://root@127.0.0.1:%d", port)
	p := startProcessEnv(t, sshEnv, bin.pipelined, "--config", s.config, "--workdir", s.workdir,
		"--interval", "0", "--engine", "remote="+host)
	waitFor(t, p, 3*time.Minute, "the build over ssh did not finish", func() bool { return len(s.finished()) == 1 })
	b := s.finished()[0]
	if b.Result != outcome.Success || b.Engine != "remote" {
		t.Fatalf("build: %s on %q: %s\n%s", b.Result, b.Engine, b.Reason, p.stderr())
	}
	if got, err := os.ReadFile(filepath.Join(b.Path, "drop", "copied.txt")); string(got) != "made on the build host\n" {
		t.Errorf("drop/copied.txt = %q, %v\n%s", got, err, readFile(t, filepath.Join(b.Path, "build.log")))
	}
	// The image is on the second engine, not on this host's.
	if second.Output("image", "inspect", "--format", "{{.Id}}", b.Image) != b.Image {
		t.Errorf("image %s is not on the engine reached over ssh", b.Image)
	}
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
	noContainers(t, s, second)
}

func TestTwoEnginesRunTwoBuildsAtOnce(t *testing.T) {
	s := newSite(t)
	testenv.CleanDocker(t, s.workdir)
	second := testenv.StartEngine(t, s.dir)
	repo := engineRepo(t, 4)
	s.writeConfig("[a]\nremote = %[1]s\nbuild = True\nrun = True\npull = False\n\n[b]\nremote = %[1]s\nbuild = True\nrun = True\npull = False\n", repo.Remote)
	s.enqueue("a", "main", repo.Head())
	s.enqueue("b", "main", repo.Head())
	p := s.daemon("--limit", "2", "--interval", "0", "--engine", "local=,slots=1", "--engine", "b2="+second.Host+",slots=1")
	waitFor(t, p, 3*time.Minute, "the builds did not finish", func() bool { return len(s.finished()) == 2 })
	builds := s.finished()
	if builds[0].Engine == builds[1].Engine {
		t.Errorf("both builds ran on %q", builds[0].Engine)
	}
	if peak := maxOverlap(builds); peak != 2 {
		t.Errorf("%d builds ran at once, want 2 (one per engine)", peak)
	}
	for _, b := range builds {
		if b.Result != outcome.Success {
			t.Errorf("%s on %s: %s (%s)", b.Project, b.Engine, b.Result, b.Reason)
		}
	}
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
	noContainers(t, s, second)
}

func TestAnEngineThatVanishesMidBuildLosesNothing(t *testing.T) {
	s := newSite(t)
	testenv.CleanDocker(t, s.workdir)
	second := testenv.StartEngine(t, s.dir)
	repo := engineRepo(t, 30)
	s.writeConfig("[p]\nremote = %s\nbuild = True\nrun = True\npull = False\n", repo.Remote)
	s.enqueue("p", "main", repo.Head())
	// b2 is listed first: with a free slot on each, the build goes there.
	p := s.daemon(append(quickEngineChecks, "--interval", "0", "--engine", "b2="+second.Host+",slots=1", "--engine", "local=,slots=1")...)
	waitFor(t, p, 3*time.Minute, "the container did not run on the second engine", func() bool {
		return second.Output("ps", "--quiet", "--filter", "label=pipelined.workdir="+s.workdir) != ""
	})
	second.Stop()
	waitFor(t, p, time.Minute, "the engine's failure was not noticed", func() bool {
		return logCount(p, "build finished", "outcome=retry") == 1 && logCount(p, "engine=b2", "out of the pool") >= 1
	})
	waitFor(t, p, 3*time.Minute, "the job was not built on the other engine", func() bool {
		for _, b := range s.finished() {
			if b.Result == outcome.Success && b.Engine == "local" {
				return true
			}
		}
		return false
	})
	// Nothing is left on either engine once the second is back.
	second.Start()
	waitFor(t, p, time.Minute, "the second engine did not come back into the pool, cleaned", func() bool {
		return logCount(p, "engine=b2", "in the pool") >= 2 && logCount(p, "removed an orphan container", "engine=b2") >= 1
	})
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
	if n := len(s.jobsIn("new")) + len(s.jobsIn("cur")); n != 0 {
		t.Errorf("%d jobs left", n)
	}
	noContainers(t, s, second)
}

// quickEngineChecks asks a busy engine every 5 s rather than 30, so that the tests of
// engines that vanish or hang find out sooner; one probe still has 10 s, ample for a
// healthy engine on a busy machine.
var quickEngineChecks = []string{"--engine-check", "5", "--engine-timeout", "10"}

// TestAnEngineThatHangsMidBuildLosesNothing: an engine that accepts connections and never
// answers (a host gone from the network) is found out while builds run on it; its build is
// stopped, and the job built elsewhere.
func TestAnEngineThatHangsMidBuildLosesNothing(t *testing.T) {
	s := newSite(t)
	testenv.CleanDocker(t, s.workdir)
	second := testenv.StartEngine(t, s.dir)
	repo := engineRepo(t, 300)
	called := filepath.Join(s.dir, "error-callback-ran")
	onError := s.file("on-error.sh", "#!/bin/sh\ntouch "+called+"\n", 0o755)
	s.writeConfig("[p]\nremote = %s\nbuild = True\nrun = True\npull = False\nerror_callback = %s\n", repo.Remote, onError)
	s.enqueue("p", "main", repo.Head())
	p := s.daemon(append(quickEngineChecks, "--interval", "0", "--grace", "2s", "--engine", "b2="+second.Host+",slots=1", "--engine", "local=,slots=1")...)
	waitFor(t, p, 3*time.Minute, "the container did not run on the second engine", func() bool {
		return second.Output("ps", "--quiet", "--filter", "label=pipelined.workdir="+s.workdir) != ""
	})
	second.Pause()
	waitFor(t, p, 3*time.Minute, "the hung engine's build was not stopped and retried", func() bool {
		return logCount(p, "build finished", "outcome=retry", "stopped answering") == 1
	})
	// An infrastructure error, not the project's result: no error_callback, and build.json
	// says the job is retried.
	for _, b := range s.finished() {
		if b.Engine == "b2" && (b.Result != outcome.Failed || !b.Retry) {
			t.Errorf("the build on the hung engine is recorded as %s (retry %v): %s", b.Result, b.Retry, b.Reason)
		}
	}
	if exists(called) {
		t.Error("error_callback ran for a build that is retried")
	}
	// The retry runs (for 300 s) on the engine that answers.
	waitFor(t, p, 3*time.Minute, "the job was not started again on the other engine", func() bool {
		return logCount(p, "dispatched build", "engine=local") == 1
	})
	second.Resume()
	run(t, nil, bin.pipelined, "cancel", "--workdir", s.workdir, "p")
	waitFor(t, p, time.Minute, "the cancel did not end the retry", func() bool {
		return logCount(p, "build finished", "outcome=withdrawn") == 1
	})
	waitFor(t, p, 2*time.Minute, "the second engine was not cleaned once it answered", func() bool {
		return logCount(p, "engine=b2", "in the pool") >= 2 && logCount(p, "removed an orphan container", "engine=b2") >= 1
	})
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
	noContainers(t, s, second)
}
