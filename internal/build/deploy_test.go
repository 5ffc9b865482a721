package build

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pipelined/internal/config"
)

// TestRsyncSourceIsTheDropWhenAContainerRan: a project that runs a container deploys its
// artifacts from drop/, any other its checkout; a relative include file is in the checkout.
func TestRsyncSourceIsTheDropWhenAContainerRan(t *testing.T) {
	for _, tc := range []struct {
		name         string
		p            config.Project
		src, include string
	}{
		{"the checkout", config.Project{}, "/b/checkout", ""},
		{"the drop", config.Project{Build: true, Run: true}, "/b/drop", ""},
		{"built but not run", config.Project{Build: true}, "/b/checkout", ""},
		{"a relative include", config.Project{Rsync: config.Rsync{Include: "deploy/include.txt"}}, "/b/checkout", "/b/checkout/deploy/include.txt"},
		{"an absolute include", config.Project{Run: true, Rsync: config.Rsync{Include: "/etc/pipelined/app.include"}}, "/b/drop", "/etc/pipelined/app.include"},
	} {
		src, include := rsyncSource(&tc.p, "/b/checkout", "/b/drop")
		if src != tc.src || include != tc.include {
			t.Errorf("%s: rsyncSource = %q, %q; want %q, %q", tc.name, src, include, tc.src, tc.include)
		}
	}
}

// TestPrepareDestinationMakesALocalDestinationsParents: rsync makes only the last
// directory; the parents of a local destination are made here (a relative one is in the
// build directory, where rsync runs), and build.log says so.
func TestPrepareDestinationMakesALocalDestinationsParents(t *testing.T) {
	b := newTestBuilder(t, &config.Project{})
	www := t.TempDir()
	dest := filepath.Join(www, "app", "feature", "x")
	mkpath, err := b.prepareDestination(context.Background(), dest+"/")
	if err != nil || mkpath {
		t.Fatalf("prepareDestination = %v, %v; want no --mkpath and no error", mkpath, err)
	}
	if info, err := os.Stat(filepath.Dir(dest)); err != nil || !info.IsDir() {
		t.Errorf("the parent %s was not made: %v", filepath.Dir(dest), err)
	}
	if _, err := os.Stat(dest); err == nil {
		t.Errorf("the destination itself was made: rsync's to make")
	}
	if out := b.log.Since(0, 1<<16); !strings.Contains(out, "created the destination's directory "+filepath.Dir(dest)) {
		t.Errorf("build.log does not say so:\n%s", out)
	}

	if _, err := b.prepareDestination(context.Background(), "out/site"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(b.dir, "out")); err != nil {
		t.Errorf("a relative destination's parent is not in the build directory: %v", err)
	}

	blocked := filepath.Join(www, "file")
	if err := os.WriteFile(blocked, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := b.prepareDestination(context.Background(), filepath.Join(blocked, "sub", "dest")); err == nil ||
		!strings.Contains(err.Error(), "creating the destination's directory") {
		t.Errorf("a parent that cannot be made: %v", err)
	}
}

// TestExplainRsyncNamesTheMissingDirectory: a remote destination without --mkpath whose
// directory rsync could not make gets a reason that says what to do; anything else keeps
// its error.
func TestExplainRsyncNamesTheMissingDirectory(t *testing.T) {
	exit := errors.New("rsync exited with status 11")
	failing := func(t *testing.T, out string) *builder {
		b := newTestBuilder(t, &config.Project{})
		from := b.log.Size()
		b.log.File().WriteString(out)
		b.noteFailure(true, from)
		return b
	}
	out := "rsync: [Receiver] mkdir \"/srv/www/app/feature/x\" failed: No such file or directory (2)\nrsync error: error in file IO (code 11)\n"

	b := failing(t, out)
	err := b.explainRsync(exit, "www@web1:/srv/www/app/feature/x", false)
	if !errors.Is(err, exit) || !strings.Contains(err.Error(), "has no directory /srv/www/app/feature/x") ||
		!strings.Contains(err.Error(), "upgrade rsync") {
		t.Errorf("explainRsync = %v", err)
	}
	for _, tc := range []struct {
		name   string
		err    error
		dest   string
		mkpath bool
		out    string
	}{
		{"succeeded", nil, "www@web1:/srv/www", false, out},
		{"with --mkpath", exit, "www@web1:/srv/www", true, out},
		{"a local destination", exit, "/srv/www/app", false, out},
		{"another failure", exit, "www@web1:/srv/www", false, "rsync: connection unexpectedly closed\n"},
	} {
		b := failing(t, tc.out)
		if got := b.explainRsync(tc.err, tc.dest, tc.mkpath); got != tc.err {
			t.Errorf("%s: explainRsync = %v, want %v", tc.name, got, tc.err)
		}
	}
}
