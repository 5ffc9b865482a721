package retention

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"pipelined/internal/buildlog"
	"pipelined/internal/docker"
	"pipelined/internal/outcome"
	"pipelined/internal/workdir"
)

// fakeEngine answers the docker commands of Remove: the image was made by the build, and
// users is what `docker ps --filter ancestor=` prints. It records the commands.
type fakeEngine struct {
	layout workdir.Layout
	st     *buildlog.Status
	users  string
	calls  [][]string
}

func (f *fakeEngine) docker(_ context.Context, _ string, argv []string) (string, error) {
	f.calls = append(f.calls, argv)
	switch {
	case slices.Equal(argv, docker.ImageLabelsArgs(f.st.Image)):
		return labelsOf(f.layout, f.st).ImageLabels() + "\t[]", nil
	case slices.Equal(argv, docker.ImageUsersArgs(f.st.Image)):
		return f.users, nil
	}
	return "", nil
}

func (f *fakeEngine) removedImage() bool {
	return slices.ContainsFunc(f.calls, func(a []string) bool { return slices.Equal(a, docker.RemoveImageArgs(f.st.Image)) })
}

// TestRemoveKeepsAnImageSomethingElseNeeds: a removed build's image goes too, unless a
// build that stays records the same image or a container uses it; the directory goes
// either way, whole.
func TestRemoveKeepsAnImageSomethingElseNeeds(t *testing.T) {
	for _, c := range []struct {
		name      string
		keptUses  bool
		users     string
		wantImage bool
	}{
		{"nothing else needs it", false, "", true},
		{"a kept build records it", true, "", false},
		{"a container uses it", false, "3f2a1b\n", false},
	} {
		l := workdir.Layout{Root: t.TempDir()}
		dir := filepath.Join(l.RefDir("p", "refs/heads/main"), "aaaaaaaa")
		os.MkdirAll(filepath.Join(dir, "drop"), 0o755)
		st := &buildlog.Status{Project: "p", Ref: "refs/heads/main", Commit: strings.Repeat("a", 40), Job: "j.job",
			Image: "sha256:" + strings.Repeat("1", 64), Result: outcome.Success}
		st.Save(workdir.StatusPath(dir))
		var keep []Build
		if c.keptUses {
			keep = []Build{{Dir: "/elsewhere", Status: &buildlog.Status{Image: st.Image}}}
		}
		f := &fakeEngine{layout: l, st: st, users: c.users}
		r := &Remover{Layout: l, Docker: f.docker}
		image, err := r.Remove(context.Background(), Build{Dir: dir, Status: st}, keep)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if (image != "") != c.wantImage || f.removedImage() != c.wantImage {
			t.Errorf("%s: image removed %q (docker image rm run: %v), want removed: %v", c.name, image, f.removedImage(), c.wantImage)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%s: the build directory is still there", c.name)
		}
		if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), workdir.RemovingPrefix+"*")); len(left) != 0 {
			t.Errorf("%s: left %v", c.name, left)
		}
	}
}
