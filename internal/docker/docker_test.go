package docker

import (
	"strings"
	"testing"
)

var labels = Labels{Workdir: "/w", Project: "p", Ref: "refs/heads/main", Commit: "c0ffee", Job: "j", Build: "/w/p/r/c.tmp"}

const imageLabels = "--label pipelined.workdir=/w --label pipelined.project=p --label pipelined.ref=refs/heads/main --label pipelined.commit=c0ffee --label pipelined.job=j"

// The command lines of SPEC §7.1 and §7.4, with the placeholders filled in.
func TestCommandLinesAreThoseOfTheSpec(t *testing.T) {
	cases := []struct {
		got  []string
		want string
	}{
		{BuildArgs(BuildOptions{BuildPath: "/b", Dockerfile: "Dockerfile", Cache: true, Labels: labels, IIDFile: "/r/image.id"}),
			"docker build --rm --force-rm --file /b/Dockerfile " + imageLabels + " --iidfile /r/image.id -- /b"},
		{BuildArgs(BuildOptions{BuildPath: "/b", Dockerfile: "ci/Dockerfile", Pull: true, Tag: "p:1", Label: "a=b",
			Labels: labels, BuildArgs: []string{"FOO", "BUILD_COMMIT"}, IIDFile: "/r/image.id"}),
			"docker build --rm --force-rm --file /b/ci/Dockerfile --pull --no-cache --tag p:1 --label a=b " + imageLabels +
				" --build-arg FOO --build-arg BUILD_COMMIT --iidfile /r/image.id -- /b"},
		{RunArgs(RunOptions{BuildPath: "/b", DropPath: "/d", Name: "p-c0ffee-abc", Labels: labels, Image: "sha256:1"}),
			"docker run --rm --pull never -v /b:/build:rw -v /d:/drop:rw --name p-c0ffee-abc " + imageLabels +
				" --label pipelined.build=/w/p/r/c.tmp -- sha256:1"},
		{RunArgs(RunOptions{BuildPath: "/b", DropPath: "/d", Name: "n", ReadOnly: true, DockerInDocker: true, Label: "a=b",
			Labels: labels, TmpfsPercent: 50, Env: []string{"FOO"}, Image: "sha256:1"}),
			"docker run --rm --pull never -v /b:/build:rw -v /d:/drop:rw --name n --read-only -v /var/run/docker.sock:/var/run/docker.sock --label a=b " +
				imageLabels + " --label pipelined.build=/w/p/r/c.tmp --tmpfs /tmp:size=50%,mode=1777,rw,relatime --env FOO -- sha256:1"},
		// On an engine elsewhere: the same flags, with volumes of the container's own.
		{CreateArgs(RunOptions{BuildPath: "/b", DropPath: "/d", Name: "n", ReadOnly: true, Label: "a=b",
			Labels: labels, TmpfsPercent: 50, Env: []string{"FOO"}, Image: "sha256:1"}),
			"docker create --pull never -v /build -v /drop --name n --read-only --label a=b " +
				imageLabels + " --label pipelined.build=/w/p/r/c.tmp --tmpfs /tmp:size=50%,mode=1777,rw,relatime --env FOO -- sha256:1"},
		{StopArgs("n", 5), "docker stop --time 5 n"},
		{RemoveArgs("n"), "docker rm -f n"},
	}
	for _, tc := range cases {
		if got := strings.Join(tc.got, " "); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

func TestContainerNamesAreUniquePerBuildDirectory(t *testing.T) {
	a := ContainerName("web", "c0ffee12", "/w/web/refs%2Fheads%2Fmain/c0ffee12.tmp")
	b := ContainerName("web", "c0ffee12", "/w/web/refs%2Ftags%2Fv1/c0ffee12.tmp")
	if a == b || !strings.HasPrefix(a, "web-c0ffee12-") {
		t.Errorf("ContainerName gave %q and %q", a, b)
	}
}

func TestCheckMountPathRefusesWhatDashVCannotCarry(t *testing.T) {
	for path, ok := range map[string]bool{"/w/p/refs%2Fheads%2Fmain/c": true, "/w:x/p": false, "/w,x/p": false} {
		if (CheckMountPath(path) == nil) != ok {
			t.Errorf("CheckMountPath(%q) ok = %v, want %v", path, !ok, ok)
		}
	}
}
