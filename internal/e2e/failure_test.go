package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/testenv"
)

// badTreeCommit adds to repo a commit whose tree git refuses to check out (a path through
// ".git"), and returns it: the commit is on the remote, but its checkout fails.
func badTreeCommit(t *testing.T, repo *testenv.Repo) string {
	blob := testenv.GitStdin(t, repo.Work, "x\n", "hash-object", "-w", "--stdin")
	inner := testenv.GitStdin(t, repo.Work, "100644 blob "+blob+"\tx\n", "mktree")
	dotgit := testenv.GitStdin(t, repo.Work, "040000 tree "+inner+"\t.git\n", "mktree")
	top := testenv.GitStdin(t, repo.Work, "040000 tree "+dotgit+"\tsub\n", "mktree")
	commit := testenv.Git(t, repo.Work, "commit-tree", "-m", "bad tree", top)
	// On a branch of its own: a full clone has it, and checks out main without trouble.
	repo.PushRef(commit, "refs/heads/bad")
	return commit
}

func TestFailureAtEachStepIsRecorded(t *testing.T) {
	testenv.Require(t, "rsync")
	s := newSite(t)
	testenv.CleanDocker(t, s.workdir)
	testenv.RequireBaseImage(t)
	repo := testenv.NewRepo(t, map[string]string{
		"Dockerfile.bad": "FROM " + testenv.BaseImage + "\nRUN exit 7\n",
		"Dockerfile.ok":  "FROM " + testenv.BaseImage + "\nCMD [\"/bin/sh\", \"-c\", \"exit 3\"]\n",
	})
	bad := badTreeCommit(t, repo)
	cb := s.file("cb.sh", callbackScript, 0o755)
	fail := s.file("fail.sh", "#!/bin/sh\necho failing on purpose\nexit 4\n", 0o755)
	// A file where the destination's parent would be: rsync's step fails, even for root
	// (who may write into a read-only directory, and pipelined makes missing parents).
	readonly := s.file("not-a-directory", "", 0o644)
	cases := []struct {
		project, keys, commit, step string
		said                        string // in the last line of failed_output: the failing command's own words
	}{
		{"clone", "remote = " + filepath.Join(s.dir, "no-such-repo.git"), "", "clone", "does not exist"},
		{"checkout", "remote = " + repo.Remote + "\nshallow = False", bad, "checkout", "invalid path"},
		{"prepare", "remote = " + repo.Remote + "\nprepare_callback = " + fail, "", "prepare", "failing on purpose"},
		{"dockerbuild", "remote = " + repo.Remote + "\nbuild = True\npull = False\ndockerfile = Dockerfile.bad", "", "docker-build", "exit 7"},
		// The container prints nothing, and pipelined's own check stops rsync before it runs.
		{"dockerrun", "remote = " + repo.Remote + "\nbuild = True\nrun = True\npull = False\ndockerfile = Dockerfile.ok", "", "docker-run", ""},
		{"rsync", "remote = " + repo.Remote + "\nrsync.destination = " + readonly + "/sub/dir", "", "rsync", ""},
		{"success", "remote = " + repo.Remote + "\nsuccess_callback = " + fail, "", "success-callback", "failing on purpose"},
	}
	var config strings.Builder
	for _, c := range cases {
		fmt.Fprintf(&config, "[%s]\n%s\nerror_callback = %s error\n\n", c.project, c.keys, cb)
	}
	s.writeConfig("%s", config.String())
	for _, c := range cases {
		t.Run(c.step, func(t *testing.T) {
			args := []string{c.project, "refs/heads/main"}
			if c.commit != "" {
				args = append(args, c.commit)
			} else if c.project == "clone" {
				args = append(args, strings.Repeat("1", 40)) // no remote to ask
			}
			res := s.build(args...)
			if res.code != 1 {
				t.Fatalf("exit %d, want 1\n%s", res.code, res.stderr)
			}
			dir := s.onlyBuild(c.project)
			if !strings.HasSuffix(dir, ".tmp") {
				t.Errorf("the failed build's directory %s lost its .tmp suffix", dir)
			}
			st := status(t, dir)
			if st.Result != "failed" || st.FailedStep != c.step {
				t.Errorf("build.json: result %q at step %q, want failed at %q", st.Result, st.FailedStep, c.step)
			}
			if out := st.FailedOutput; c.said != "" && (len(out) == 0 || !strings.Contains(out[len(out)-1], c.said)) {
				t.Errorf("failed_output %q, want its last line to say %q", out, c.said)
			}
			if !strings.Contains(res.stderr, "failed ("+c.step+":") {
				t.Errorf("the summary does not name the step: %s", res.stderr)
			}
			env := envFile(t, filepath.Join(dir, "error.env"))
			if env["BUILD_STATUS"] != "failed" || env["BUILD_STEP"] != c.step {
				t.Errorf("error_callback saw BUILD_STATUS=%q BUILD_STEP=%q", env["BUILD_STATUS"], env["BUILD_STEP"])
			}
		})
	}
}

func TestTimeoutStopsTheContainer(t *testing.T) {
	s := newSite(t)
	testenv.CleanDocker(t, s.workdir)
	repo := dockerRepo(t, `["/bin/sh", "-c", "sleep ${SLEEP:-0}"]`)
	// A first build fills docker's cache, so that the second one's docker build is quick and
	// the timeout catches the container, not the image build.
	s.writeConfig("[p]\nremote = %s\nbuild = True\nrun = True\npull = False\n", repo.Remote)
	if res := s.build("p", "main"); res.code != 0 {
		t.Fatalf("first build: exit %d\n%s", res.code, res.stderr)
	}
	// The timeout is long enough for the clone and the cached image build even on a busy
	// machine, and far shorter than the container's sleep.
	s.writeConfig("[p]\nremote = %s\nbuild = True\nrun = True\npull = False\ntimeout = 30\nenv = SLEEP=300\n", repo.Remote)
	start := time.Now()
	res := s.build("--grace", "4s", "p", "main")
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", res.code, res.stderr)
	}
	dirs, _ := filepath.Glob(filepath.Join(s.workdir, "p", "*", "*-2.tmp"))
	if len(dirs) != 1 {
		t.Fatalf("no failed second build: %v", dirs)
	}
	st := status(t, dirs[0])
	if st.Result != "failed" || st.FailedStep != "docker-run" || !strings.Contains(st.Reason, "timed out") {
		t.Errorf("build.json: %s at %s: %s", st.Result, st.FailedStep, st.Reason)
	}
	if took := time.Since(start); took > 120*time.Second {
		t.Errorf("the build took %v: the timeout did not stop the container", took)
	}
	testenv.NoContainersLeft(t, s.workdir)
}

func TestSignalCancelsTheBuild(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGTERM, 143}, {syscall.SIGINT, 130}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			s := newSite(t)
			testenv.CleanDocker(t, s.workdir)
			repo := dockerRepo(t, `["/bin/sleep", "300"]`)
			cb := s.file("cb.sh", callbackScript, 0o755)
			s.writeConfig("[p]\nremote = %s\nbuild = True\nrun = True\npull = False\nerror_callback = %s error\n", repo.Remote, cb)
			const grace = 4 * time.Second
			p := startProcess(t, bin.build, "--config", s.config, "--workdir", s.workdir, "--grace", grace.String(), "p", "main")
			testenv.Eventually(t, 2*time.Minute, "the container did not start", func() bool {
				for _, name := range testenv.Containers(t, s.workdir) {
					if strings.HasPrefix(name, "p-"+repo.Head()[:8]) {
						return true
					}
				}
				return false
			})
			// The running container carries the labels that find it later.
			labels := run(t, nil, "docker", "inspect", "--format", "{{json .Config.Labels}}", "p-"+repo.Head()[:8]+"-"+containerSuffix(t, s))
			for _, want := range []string{`"pipelined.workdir":"` + s.workdir + `"`, `"pipelined.project":"p"`, `"pipelined.ref":"refs/heads/main"`,
				`"pipelined.commit":"` + repo.Head() + `"`, `"pipelined.job":"manual"`, `"pipelined.build":"`} {
				if !strings.Contains(labels.stdout, want) {
					t.Errorf("the container's labels %s lack %s", labels.stdout, want)
				}
			}
			sent := time.Now()
			p.signal(tc.sig)
			code := p.wait(t, grace+30*time.Second)
			if took := time.Since(sent); took > grace+time.Second {
				t.Errorf("exited %v after the signal; the budget is the grace period %v plus a second", took, grace)
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, p.stderr())
			}
			dir := s.onlyBuild("p")
			st := status(t, dir)
			if st.Result != "canceled" || !strings.HasSuffix(dir, ".tmp") {
				t.Errorf("build.json says %q in %s, want canceled in a .tmp directory", st.Result, dir)
			}
			if env := envFile(t, filepath.Join(dir, "error.env")); env["BUILD_STATUS"] != "canceled" {
				t.Errorf("error_callback saw BUILD_STATUS=%q, want canceled", env["BUILD_STATUS"])
			}
			testenv.NoContainersLeft(t, s.workdir)
			testenv.NoProcessMentions(t, dir)
		})
	}
}

func TestSameCommitAsBranchAndTagAtOnce(t *testing.T) {
	s := newSite(t)
	testenv.CleanDocker(t, s.workdir)
	repo := dockerRepo(t, `["/bin/sh", "-c", "sleep 2; echo $BUILD_REF > /drop/ref.txt"]`)
	repo.Tag("v1")
	commit := repo.Head()
	s.writeConfig("[p]\nremote = %s\nbuild = True\nrun = True\npull = False\n", repo.Remote)
	branch := startProcess(t, bin.build, "--config", s.config, "--workdir", s.workdir, "p", "main", commit)
	tag := startProcess(t, bin.build, "--config", s.config, "--workdir", s.workdir, "p", "v1", commit)
	for _, p := range []*process{branch, tag} {
		if code := p.wait(t, 3*time.Minute); code != 0 {
			t.Fatalf("exit %d\n%s", code, p.stderr())
		}
	}
	branchDir := filepath.Join(s.workdir, "p", "refs%2Fheads%2Fmain", commit[:8])
	tagDirs := s.buildDirs("p", "refs%2Ftags%2Fv1")
	if len(tagDirs) != 1 {
		t.Fatalf("tag build directories: %v", tagDirs)
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(branchDir, "drop", "ref.txt"))); got != "refs/heads/main" {
		t.Errorf("the branch build's container wrote %q", got)
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(tagDirs[0], "drop", "ref.txt"))); got != "refs/tags/v1" {
		t.Errorf("the tag build's container wrote %q", got)
	}
	if a, b := status(t, branchDir).Container, status(t, tagDirs[0]).Container; a == b {
		t.Errorf("both builds used the container name %s", a)
	}
}

// containerSuffix is the part of the running build's container name that its build
// directory gives.
func containerSuffix(t *testing.T, s *site) string {
	for _, c := range testenv.Containers(t, s.workdir) {
		if i := strings.LastIndexByte(c, '-'); i > 0 {
			return c[i+1:]
		}
	}
	t.Fatal("no container")
	return ""
}
