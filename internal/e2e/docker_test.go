package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"pipelined/internal/testenv"
)

// probeScript is the container's command: it records what the container sees into /drop.
const probeScript = `#!/bin/sh
env > /drop/env.txt
ls /build > /drop/build-listing.txt
cat /arg.txt > /drop/arg.txt
if touch /rootfile 2>/dev/null; then echo writable; else echo readonly; fi > /drop/root.txt
if touch /tmp/x 2>/dev/null; then echo writable; else echo readonly; fi > /drop/tmp.txt
if [ -S /var/run/docker.sock ]; then echo present; else echo absent; fi > /drop/socket.txt
echo artifact > /drop/artifact.txt
`

// dockerRepo makes a repository whose Dockerfile builds on the local base image, takes a
// project variable as a build argument and runs cmd.
func dockerRepo(t *testing.T, cmd string) *testenv.Repo {
	testenv.RequireBaseImage(t)
	return testenv.NewRepo(t, map[string]string{
		"Dockerfile": "FROM " + testenv.BaseImage + "\nARG PROJECT_VAR\nRUN echo \"$PROJECT_VAR\" > /arg.txt\nCOPY run.sh /run.sh\nCMD " + cmd + "\n",
		"run.sh":     probeScript,
	})
}

// watchArgv records, until stop is called, every command line on the machine that
// contains one of the needles.
func watchArgv(t *testing.T, needles ...string) (stop func() []string) {
	var mu sync.Mutex
	var seen []string
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
			for _, p := range paths {
				data, _ := os.ReadFile(p)
				for _, n := range needles {
					if bytes.Contains(data, []byte(n)) {
						mu.Lock()
						seen = append(seen, string(bytes.ReplaceAll(data, []byte{0}, []byte{' '})))
						mu.Unlock()
					}
				}
			}
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return func() []string {
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
}

func TestBuildAndRunInDocker(t *testing.T) {
	s := newSite(t)
	testenv.CleanDocker(t, s.workdir)
	testenv.Require(t, "rsync")
	repo := dockerRepo(t, `["/bin/sh", "/run.sh"]`)
	commit := repo.Head()
	const inlineSecret, fileSecret = "s3cr3t-inline-value", "s3cr3t-file-value"
	secrets := s.file("secrets.env", "# secrets\nFILE_SECRET="+fileSecret+"\n", 0o600)
	cb := s.file("cb.sh", callbackScript, 0o755)
	dest := filepath.Join(s.dir, "mirror")
	s.writeConfig(`[web]
remote = %s
build = True
run = True
pull = False
env_file = %s
env =
    PROJECT_VAR=hello-from-env
    INLINE_SECRET=%s
tag = web-test-${BUILD_PROJECT}:${BUILD_SHORT_COMMIT}
label = com.example.ref=${BUILD_REF_NAME}
rsync.destination = %s
success_callback = %s success
`, repo.Remote, secrets, inlineSecret, dest, cb)

	stop := watchArgv(t, inlineSecret, fileSecret)
	res := s.build("web", "main")
	leaked := stop()
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	dir := s.onlyBuild("web")
	st := status(t, dir)

	// The image: tag and labels interpolated, pipelined's labels, the id in BUILD_IMAGE.
	tag := "web-test-web:" + commit[:8]
	inspect := func(format string) string {
		out, err := exec.Command("docker", "image", "inspect", "--format", format, tag).Output()
		if err != nil {
			t.Fatalf("docker image inspect %s: %v", tag, err)
		}
		return strings.TrimSpace(string(out))
	}
	if id := inspect("{{.Id}}"); id != st.Image || envFile(t, filepath.Join(dir, "success.env"))["BUILD_IMAGE"] != id {
		t.Errorf("image %s: build.json says %s, success_callback saw BUILD_IMAGE=%s", id, st.Image,
			envFile(t, filepath.Join(dir, "success.env"))["BUILD_IMAGE"])
	}
	for label, want := range map[string]string{"com.example.ref": "main", "pipelined.workdir": s.workdir,
		"pipelined.project": "web", "pipelined.ref": "refs/heads/main", "pipelined.commit": commit, "pipelined.job": "manual"} {
		if got := inspect(`{{index .Config.Labels "` + label + `"}}`); got != want {
			t.Errorf("image label %s = %q, want %q", label, got, want)
		}
	}

	// The container: the project variable as a build argument, the mounts, its environment,
	// a read-only root with a writable /tmp, no docker socket.
	drop := filepath.Join(dir, "drop")
	expect := map[string]string{"arg.txt": "hello-from-env", "root.txt": "readonly", "tmp.txt": "writable",
		"socket.txt": "absent", "artifact.txt": "artifact"}
	for name, want := range expect {
		if got := strings.TrimSpace(readFile(t, filepath.Join(drop, name))); got != want {
			t.Errorf("/drop/%s = %q, want %q", name, got, want)
		}
	}
	if listing := readFile(t, filepath.Join(drop, "build-listing.txt")); !strings.Contains(listing, "Dockerfile") {
		t.Errorf("/build in the container does not hold the checkout: %q", listing)
	}
	env := envFile(t, filepath.Join(drop, "env.txt"))
	for name, want := range map[string]string{"BUILD_PROJECT": "web", "BUILD_COMMIT": commit, "BUILD_PATH": "/build",
		"BUILD_DROP_PATH": "/drop", "BUILD_IMAGE": st.Image, "PROJECT_VAR": "hello-from-env",
		"INLINE_SECRET": inlineSecret, "FILE_SECRET": fileSecret} {
		if env[name] != want {
			t.Errorf("the container saw %s=%q, want %q", name, env[name], want)
		}
	}
	if _, ok := env["BUILD_RUN_PATH"]; ok {
		t.Error("the container sees BUILD_RUN_PATH, a host path")
	}

	// rsync mirrored the artifacts, not the checkout.
	if got := strings.TrimSpace(readFile(t, filepath.Join(dest, "artifact.txt"))); got != "artifact" {
		t.Errorf("mirrored artifact = %q", got)
	}
	if _, err := os.Stat(filepath.Join(dest, "Dockerfile")); err == nil {
		t.Error("rsync mirrored the checkout instead of the artifacts")
	}

	// Secrets travel by name only.
	log := readFile(t, filepath.Join(dir, "build.log"))
	for _, secret := range []string{inlineSecret, fileSecret} {
		for name, text := range map[string]string{"build.log": log, "build.json": readFile(t, filepath.Join(dir, "build.json"))} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contains the secret %q", name, secret)
			}
		}
	}
	if len(leaked) > 0 {
		t.Errorf("a secret appeared in a process's arguments: %q", leaked)
	}
	for _, want := range []string{"--build-arg INLINE_SECRET", "--build-arg FILE_SECRET", "--env INLINE_SECRET", "--iidfile "} {
		if !strings.Contains(log, want) {
			t.Errorf("build.log lacks %q", want)
		}
	}
}

func TestRunWithoutTmpfsAndWithTheDockerSocket(t *testing.T) {
	s := newSite(t)
	testenv.CleanDocker(t, s.workdir)
	repo := dockerRepo(t, `["/bin/sh", "/run.sh"]`)
	s.writeConfig("[p]\nremote = %s\nbuild = True\nrun = True\npull = False\ntmpfs = 0\ndocker_in_docker = True\n", repo.Remote)
	if res := s.build("p", "main"); res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	drop := filepath.Join(s.onlyBuild("p"), "drop")
	for name, want := range map[string]string{"tmp.txt": "readonly", "socket.txt": "present", "root.txt": "readonly"} {
		if got := strings.TrimSpace(readFile(t, filepath.Join(drop, name))); got != want {
			t.Errorf("/drop/%s = %q, want %q", name, got, want)
		}
	}
}
