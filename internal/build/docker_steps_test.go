package build

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pipelined/internal/config"
	"pipelined/internal/docker"
	"pipelined/internal/engine"
	"pipelined/internal/env"
	"pipelined/internal/workdir"
)

// TestNormalTagIsAsDockerListsIt: a tag without one of its own gets ":latest"; a registry's
// port is not a tag.
func TestNormalTagIsAsDockerListsIt(t *testing.T) {
	for tag, want := range map[string]string{
		"":                             "",
		"app":                          "app:latest",
		"app:1.2":                      "app:1.2",
		"team/app":                     "team/app:latest",
		"registry:5000/team/app":       "registry:5000/team/app:latest",
		"registry:5000/team/app:v3":    "registry:5000/team/app:v3",
		"registry.example.com/app:abc": "registry.example.com/app:abc",
	} {
		if got := normalTag(tag); got != want {
			t.Errorf("normalTag(%q) = %q, want %q", tag, got, want)
		}
	}
}

// TestInsideCheckoutRefusesAWayOut: a Dockerfile in the checkout, or a symlink to one in
// it, is fine; one through "..", the checkout's parent itself, an absolute or relative
// symlink or a symlinked directory leading out is refused, and so is one that is not there.
func TestInsideCheckoutRefusesAWayOut(t *testing.T) {
	root := t.TempDir()
	checkout := filepath.Join(root, "checkout")
	outside := filepath.Join(root, "secret")
	for _, d := range []string{filepath.Join(checkout, "docker"), outside} {
		if err := os.MkdirAll(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(checkout, "Dockerfile"), filepath.Join(checkout, "docker", "Dockerfile"), filepath.Join(outside, "Dockerfile")} {
		if err := os.WriteFile(f, []byte("FROM scratch\n"), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"inner":    "docker/Dockerfile",
		"absolute": filepath.Join(outside, "Dockerfile"),
		"relative": "../secret/Dockerfile",
		"dir":      outside,
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(checkout, name)); err != nil {
			t.Fatal(err)
		}
	}
	for dockerfile, ok := range map[string]bool{
		"Dockerfile":           true,
		"docker/Dockerfile":    true,
		"inner":                true,
		"../secret/Dockerfile": false,
		"..":                   false,
		"absolute":             false,
		"relative":             false,
		"dir/Dockerfile":       false,
		"missing":              false,
	} {
		if err := insideCheckout(checkout, dockerfile); (err == nil) != ok {
			t.Errorf("insideCheckout(%q) = %v, want ok %v", dockerfile, err, ok)
		}
	}
}

// TestDockerBuildRefusesADockerfileOutsideBeforeRunningDocker: the refusal fails the step
// with no command run.
func TestDockerBuildRefusesADockerfileOutsideBeforeRunningDocker(t *testing.T) {
	b := newTestBuilder(t, &config.Project{Name: "app", Build: true, Dockerfile: "Dockerfile"})
	checkout := workdir.CheckoutPath(b.dir)
	if err := os.MkdirAll(checkout, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(checkout, "Dockerfile")); err != nil {
		t.Fatal(err)
	}
	err := b.dockerBuild(context.Background())
	if err == nil || !strings.Contains(err.Error(), "leads outside the checkout") {
		t.Errorf("dockerBuild = %v, want a refusal", err)
	}
	if len(b.status.Steps) != 0 || b.image != "" {
		t.Errorf("docker ran: %+v, image %q", b.status.Steps, b.image)
	}
}

// TestInterpolateExpandsTagAndLabel: both templates are expanded over the environment; an
// unknown variable, or one from env or env_file (a secret), is an error naming the key.
func TestInterpolateExpandsTagAndLabel(t *testing.T) {
	b := &builder{env: env.Compose([]string{"REGISTRY=reg.example.com"}, nil, []env.Var{{Name: "TOKEN", Value: "s3cret"}})}
	b.env.Set(env.BuildShortCommit, "abc1234")
	tag, label, err := b.interpolate("$REGISTRY/app:${BUILD_SHORT_COMMIT}", "built-$BUILD_SHORT_COMMIT")
	if err != nil || tag != "reg.example.com/app:abc1234" || label != "built-abc1234" {
		t.Errorf("interpolate = %q, %q, %v", tag, label, err)
	}
	if tag, label, err := b.interpolate("", ""); tag != "" || label != "" || err != nil {
		t.Errorf("no templates: %q, %q, %v", tag, label, err)
	}
	if _, _, err := b.interpolate("app:$NOPE", ""); err == nil || !strings.HasPrefix(err.Error(), "tag:") {
		t.Errorf("an unknown variable in the tag: %v", err)
	}
	if _, _, err := b.interpolate("", "x=$TOKEN"); err == nil || !strings.HasPrefix(err.Error(), "label:") {
		t.Errorf("a secret in the label: %v", err)
	}
}

// TestLabelsNameTheBuild: a build by hand is job "manual".
func TestLabelsNameTheBuild(t *testing.T) {
	b := newTestBuilder(t, &config.Project{Name: "app"})
	b.layout = workdir.Layout{Root: "/w"}
	want := docker.Labels{Workdir: "/w", Project: "app", Ref: b.ref, Commit: b.commit, Job: "manual", Build: b.dir}
	if got := b.labels(); got != want {
		t.Errorf("by hand: labels = %+v, want %+v", got, want)
	}
	b.status.Job = "0001-app.json"
	if got := b.labels(); got.Job != "0001-app.json" {
		t.Errorf("a job's build: labels.Job = %q", got.Job)
	}
}

// TestLocalEngineSharesTheFiles: the environment's own Docker and the engine named "local"
// bind-mount the checkout; any other engine gets the files copied in and out.
func TestLocalEngineSharesTheFiles(t *testing.T) {
	for _, tc := range []struct {
		e    engine.Engine
		want bool
	}{
		{engine.Engine{}, true},
		{engine.Engine{Name: engine.Local}, true},
		{engine.Engine{Name: engine.Local, Host: "unix:///run/docker.sock"}, true},
		{engine.Engine{Name: "builder2", Host: "ssh://ci@builder2"}, false},
	} {
		if got := (&builder{o: Options{Engine: tc.e}}).local(); got != tc.want {
			t.Errorf("local() with engine %+v = %v, want %v", tc.e, got, tc.want)
		}
	}
}
