package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/testenv"
)

// TestAFailedBuildRecordsItsErrorLines: build.json, pipelined status and the page show the
// last lines the failing command printed, bounded, with a secret value masked.
func TestAFailedBuildRecordsItsErrorLines(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	fail := s.file("fail.sh", "#!/bin/sh\ni=0\nwhile [ $i -lt 40 ]; do i=$((i+1)); echo \"line $i\"; done\n"+
		"echo \"the token is $API_TOKEN\" >&2\necho 'error: <b>the real reason</b>' >&2\nexit 3\n", 0o755)
	s.writeConfig(`[app]
remote = %s
branches = main
env = API_TOKEN=s3cr3t-v4lue
prepare_callback = %s
`, repo.Remote, fail)
	if res := s.build("app", "main"); res.code != 1 {
		t.Fatalf("pipeline-build: exit %d, want 1\n%s", res.code, res.stderr)
	}
	st := status(t, s.onlyBuild("app"))
	lines := st.FailedOutput
	if st.FailedStep != "prepare" || len(lines) != buildlog.TailLines {
		t.Fatalf("failed_step %q, failed_output %q", st.FailedStep, lines)
	}
	if lines[0] != "line 23" || lines[18] != "the token is ***" || lines[19] != "error: <b>the real reason</b>" {
		t.Errorf("failed_output = %q", lines)
	}
	raw := readFile(t, filepath.Join(s.onlyBuild("app"), "build.json"))
	if strings.Contains(raw, "s3cr3t-v4lue") {
		t.Errorf("build.json holds the secret value")
	}
	res := run(t, nil, bin.pipelined, "status", "--workdir", s.workdir)
	if !strings.Contains(res.stdout, "error: <b>the real reason</b>") || strings.Contains(res.stdout, "s3cr3t") {
		t.Errorf("pipelined status:\n%s", res.stdout)
	}
}

// TestRsyncMakesTheDestinationsMissingDirectories: a local destination below directories
// that do not exist, made with the umask; a remote one (an rsync daemon on 127.0.0.1)
// through rsync's --mkpath; and, with an rsync that lacks it, a reason naming the directory.
func TestRsyncMakesTheDestinationsMissingDirectories(t *testing.T) {
	testenv.Require(t, "rsync")
	s := newSite(t)
	repo := testenv.NewRepo(t, map[string]string{"index.html": "home\n"})
	repo.Branch("feature/x")
	repo.Push("feature/x")
	module := filepath.Join(s.dir, "module")
	os.MkdirAll(module, 0o755)
	port := rsyncDaemon(t, s, module)
	s.writeConfig(`[local]
remote = %[1]s
branches = .*
rsync.destination = %[2]s/www/app/${BUILD_REF_NAME}

[remote]
remote = %[1]s
branches = .*
rsync.destination = rsync://127.0.0.1:%[3]d/site/app/${BUILD_REF_NAME}/

[blocked]
remote = %[1]s
branches = .*
rsync.destination = %[2]s/afile/${BUILD_REF_NAME}

[oldremote]
remote = %[1]s
branches = .*
env = RSYNC_RSH=%[4]s
rsync.destination = build-host:%[2]s/old/${BUILD_REF_NAME}/
`, repo.Remote, s.dir, port, oldRemoteShell(s))
	s.file("afile", "a file, where a directory would have to be\n", 0o644)
	if res := s.build("blocked", "feature/x"); res.code != 1 {
		t.Errorf("blocked: exit %d, want 1\n%s", res.code, res.stderr)
	} else if st := status(t, s.onlyBuild("blocked")); !strings.Contains(st.Reason, "creating the destination's directory") ||
		!strings.Contains(st.Reason, "not a directory") {
		t.Errorf("blocked: reason %q", st.Reason)
	}
	for _, p := range []string{"local", "remote"} {
		if res := s.build(p, "feature/x"); res.code != 0 {
			t.Fatalf("%s: exit %d\n%s", p, res.code, res.stderr)
		}
	}
	for _, f := range []string{filepath.Join(s.dir, "www/app/feature/x/index.html"), filepath.Join(module, "app/feature/x/index.html")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("not mirrored: %v", err)
		}
	}
	umask := syscall.Umask(0o22)
	syscall.Umask(umask)
	if info, err := os.Stat(filepath.Join(s.dir, "www/app")); err != nil || info.Mode().Perm() != 0o777&^os.FileMode(umask) {
		t.Errorf("www/app: %v, mode %v with umask %o", err, info.Mode().Perm(), umask)
	}
	log := readFile(t, filepath.Join(s.onlyBuild("remote"), "build.log"))
	if !strings.Contains(log, "$ rsync --verbose --recursive --links --exclude .git --mkpath -- ") {
		t.Errorf("the remote rsync has no --mkpath:\n%s", log)
	}
	if log := readFile(t, filepath.Join(s.onlyBuild("local"), "build.log")); strings.Contains(log, "--mkpath") {
		t.Errorf("a local rsync got --mkpath:\n%s", log)
	}

	oldRsyncNamesTheMissingDirectory(t, s, module)
	oldRemoteRsyncStillDeploys(t, s)
}

// oldRemoteShell is an ssh for RSYNC_RSH that runs the remote command here, with a remote
// rsync older than 3.2.3: it refuses --mkpath, as rsync 3.1 does.
func oldRemoteShell(s *site) string {
	return s.file("old-remote-ssh", `#!/bin/sh
shift # the host
for a in "$@"; do
  if [ "$a" = --mkpath ]; then
    echo 'rsync: --mkpath: unknown option' >&2
    echo 'rsync error: syntax or usage error (code 1) at main.c(1580) [server=3.1.3]' >&2
    exit 1
  fi
done
exec "$@"
`, 0o755)
}

// oldRemoteRsyncStillDeploys: a remote rsync without --mkpath, where this one has it, still
// gets the deploys whose directories exist (rsync runs again without --mkpath), and a
// destination whose parent it lacks is named.
func oldRemoteRsyncStillDeploys(t *testing.T, s *site) {
	os.MkdirAll(filepath.Join(s.dir, "old"), 0o755)
	if res := s.build("oldremote", "main"); res.code != 0 {
		t.Fatalf("oldremote main: exit %d\n%s", res.code, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(s.dir, "old/main/index.html")); err != nil {
		t.Errorf("not mirrored through the old remote rsync: %v", err)
	}
	if res := s.build("oldremote", "feature/x"); res.code != 1 {
		t.Fatalf("oldremote feature/x: exit %d, want 1\n%s", res.code, res.stderr)
	}
	st := status(t, s.buildDirs("oldremote", "refs%2Fheads%2Ffeature%2Fx")[0])
	if !strings.Contains(st.Reason, "the destination has no directory ") || !strings.Contains(st.Reason, "old/feature/x") {
		t.Errorf("reason %q; failed_output %q", st.Reason, st.FailedOutput)
	}
}

// oldRsyncNamesTheMissingDirectory: with an rsync older than 3.2.3 (this one says so, then
// runs the real one, which gets no --mkpath), the reason names the directory the remote
// destination lacks.
func oldRsyncNamesTheMissingDirectory(t *testing.T, s *site, module string) {
	real := lookPath(t, "rsync")
	fake := s.file("old/rsync", fmt.Sprintf("#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'rsync  version 3.1.3  protocol version 31'; exit 0; fi\nexec %s \"$@\"\n", real), 0o755)
	os.RemoveAll(filepath.Join(module, "app"))
	res := run(t, []string{"PATH=" + filepath.Dir(fake) + ":" + os.Getenv("PATH")}, bin.build,
		"--config", s.config, "--workdir", s.workdir, "remote", "main")
	if res.code != 1 {
		t.Fatalf("with an old rsync: exit %d\n%s", res.code, res.stderr)
	}
	dirs := s.buildDirs("remote", "refs%2Fheads%2Fmain")
	st := status(t, dirs[0])
	if !strings.Contains(st.Reason, "the destination has no directory ") || !strings.Contains(st.Reason, "app/main") ||
		!strings.Contains(st.Reason, "--mkpath needs rsync 3.2.3") {
		t.Errorf("reason %q; failed_output %q", st.Reason, st.FailedOutput)
	}
}

// rsyncDaemon serves dir as the writable module "site" on 127.0.0.1 and returns its port.
func rsyncDaemon(t *testing.T, s *site, dir string) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := s.file("rsyncd.conf", fmt.Sprintf("use chroot = no\nuid = %d\ngid = %d\npid file = %s/rsyncd.pid\n[site]\npath = %s\nread only = no\n",
		os.Getuid(), os.Getgid(), s.dir, dir), 0o644)
	p := startProcess(t, lookPath(t, "rsync"), "--daemon", "--no-detach", "--address", "127.0.0.1", "--port", fmt.Sprint(port), "--config", conf)
	t.Cleanup(func() { p.signal(syscall.SIGTERM); p.wait(t, time.Minute) })
	testenv.Eventually(t, 30*time.Second, "the rsync daemon does not listen", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil || p.exited()
	})
	if p.exited() {
		t.Fatalf("rsync --daemon exited:\n%s", p.stderr())
	}
	return port
}

func lookPath(t *testing.T, name string) string {
	t.Helper()
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if info, err := os.Stat(filepath.Join(dir, name)); err == nil && !info.IsDir() {
			return filepath.Join(dir, name)
		}
	}
	t.Fatalf("%s is not on PATH", name)
	return ""
}

// TestABuildByHandSaysWhatStartedIt: pipeline-build --source (cron, say) is what build.json
// and the pages say started the build; without it, manual; a source that is not a short
// lower-case word, or one given with a job file, is a usage error.
func TestABuildByHandSaysWhatStartedIt(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[nightly]\nremote = %s\nbranches = main\n\n[byhand]\nremote = %[1]s\nbranches = main\n", repo.Remote)
	if res := s.build("--source", "cron", "nightly", "main"); res.code != 0 {
		t.Fatalf("pipeline-build --source cron: exit %d\n%s", res.code, res.stderr)
	}
	if res := s.build("byhand", "main"); res.code != 0 {
		t.Fatalf("pipeline-build: exit %d\n%s", res.code, res.stderr)
	}
	if got := status(t, s.onlyBuild("nightly")).Source; got != "cron" {
		t.Errorf("source %q, want cron", got)
	}
	if got := status(t, s.onlyBuild("byhand")).Source; got != "manual" {
		t.Errorf("source %q, want manual", got)
	}
	for _, args := range [][]string{{"--source", "Cron!", "byhand", "main"}, {"--source", "cron", "--job", filepath.Join(s.dir, "x.job")}} {
		if res := s.build(args...); res.code != 2 || !strings.Contains(res.stderr, "--source") {
			t.Errorf("pipeline-build %q: exit %d, want 2\n%s", args, res.code, res.stderr)
		}
	}
}
