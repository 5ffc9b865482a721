package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// BaseImage is the image tests build FROM. There is no registry to pull from, so
// scripts/base-image.sh makes it from Debian's busybox-static.
const BaseImage = "pipelined-test/busybox:1"

var baseImageOnce sync.Once
var baseImageErr string

// RequireBaseImage makes sure docker works and BaseImage exists, making it once.
func RequireBaseImage(t testing.TB) {
	t.Helper()
	Require(t, "docker", "busybox")
	baseImageOnce.Do(func() {
		out, err := exec.Command(filepath.Join(ModuleRoot(t), "scripts", "base-image.sh"), BaseImage).CombinedOutput()
		if err != nil {
			baseImageErr = "scripts/base-image.sh: " + err.Error() + ": " + string(out)
		}
	})
	if baseImageErr != "" {
		t.Fatal(baseImageErr)
	}
}

// ModuleRoot is the directory of go.mod, where scripts/ is.
func ModuleRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Containers lists the names of all containers (running or not) labelled with workdir.
func Containers(t testing.TB, workdir string) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "--all", "--format", "{{.Names}}", "--filter", "label=pipelined.workdir="+workdir).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	return strings.Fields(string(out))
}

// NoContainersLeft fails the test if containers labelled with workdir remain. The engine
// removes a --rm container, or the intermediate container of a build step, a moment after
// its client has returned, so the check waits for that moment (30 s at most).
func NoContainersLeft(t testing.TB, workdir string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(Containers(t, workdir)) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond) // polling the engine, not waiting for an effect
	}
	if left := Containers(t, workdir); len(left) > 0 {
		t.Errorf("containers left behind: %v", left)
	}
}

// CleanDocker removes, when the test ends, the containers and images labelled with
// workdir, and fails the test if any container was still there: a build must never leave
// one behind.
func CleanDocker(t testing.TB, workdir string) {
	t.Helper()
	t.Cleanup(func() {
		NoContainersLeft(t, workdir)
		if left := Containers(t, workdir); len(left) > 0 {
			exec.Command("docker", append([]string{"rm", "-f"}, left...)...).Run()
		}
		out, _ := exec.Command("docker", "images", "--quiet", "--filter", "label=pipelined.workdir="+workdir).Output()
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			exec.Command("docker", append([]string{"rmi", "--force"}, ids...)...).Run()
		}
	})
}
