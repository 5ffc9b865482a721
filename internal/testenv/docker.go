package testenv

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// BaseImage is the image tests build FROM. There is no registry to pull from, so it is
// made here from Debian's busybox-static: one static binary and a link per applet.
const BaseImage = "pipelined-test/busybox:1"

var baseImageOnce sync.Once
var baseImageErr string

// RequireBaseImage makes sure docker works and BaseImage exists, importing it once.
func RequireBaseImage(t testing.TB) {
	t.Helper()
	Require(t, "docker", "busybox")
	baseImageOnce.Do(func() { baseImageErr = importBaseImage() })
	if baseImageErr != "" {
		t.Fatal(baseImageErr)
	}
}

func importBaseImage() string {
	if exec.Command("docker", "image", "inspect", BaseImage).Run() == nil {
		return ""
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return err.Error()
	}
	bin, err := os.ReadFile(busybox)
	if err != nil {
		return err.Error()
	}
	list, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return "busybox --list: " + err.Error()
	}
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	for _, d := range []string{"bin/", "tmp/", "etc/"} {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: mode})
	}
	tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))})
	tw.Write(bin)
	for _, applet := range strings.Fields(string(list)) {
		if applet != "busybox" {
			tw.WriteHeader(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777})
		}
	}
	tw.Close()
	cmd := exec.Command("docker", "import", "--change", "ENV PATH=/bin", "--change", `CMD ["/bin/sh"]`, "-", BaseImage)
	cmd.Stdin = &tarball
	if out, err := cmd.CombinedOutput(); err != nil {
		return "docker import: " + err.Error() + ": " + string(out)
	}
	return ""
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

// CleanDocker removes, when the test ends, the containers and images labelled with
// workdir, and fails the test if any container was still there: a build must never leave
// one behind.
func CleanDocker(t testing.TB, workdir string) {
	t.Helper()
	t.Cleanup(func() {
		if left := Containers(t, workdir); len(left) > 0 {
			t.Errorf("containers left behind: %v", left)
			exec.Command("docker", append([]string{"rm", "-f"}, left...)...).Run()
		}
		out, _ := exec.Command("docker", "images", "--quiet", "--filter", "label=pipelined.workdir="+workdir).Output()
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			exec.Command("docker", append([]string{"rmi", "--force"}, ids...)...).Run()
		}
	})
}
