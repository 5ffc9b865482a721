package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestDumpReadsBackToTheSameValues: for every valid file of the corpus, the dump loads to
// the same values, secrets masked.
func TestDumpReadsBackToTheSameValues(t *testing.T) {
	for _, file := range corpus(t) {
		cfg, err := Load(file)
		if err != nil {
			continue
		}
		var b bytes.Buffer
		_ = cfg.Dump(&b)
		again, err := Parse(bytes.NewReader(b.Bytes()), "dump")
		if err != nil {
			t.Errorf("%s: the dump does not load: %v\n%s", file, err, b.String())
			continue
		}
		assertSameDump(t, file, cfg, again)
	}
}

// TestSnapshotReadsBackToTheSameProjects: for every valid file of the corpus, the
// snapshot (what pipeline-build and pipeline-watch read) loads to the same projects with
// the same values — env_file paths relative to the original included — and a snapshot of
// the snapshot is the same text.
func TestSnapshotReadsBackToTheSameProjects(t *testing.T) {
	dir := t.TempDir()
	for _, file := range corpus(t) {
		cfg, src, err := LoadSource(file)
		if err != nil {
			continue
		}
		snap := filepath.Join(dir, "config.ini")
		os.WriteFile(snap, Snapshot(src, file), 0o600)
		again, src2, err := LoadSource(snap)
		if err != nil {
			t.Errorf("%s: the snapshot does not load: %v", file, err)
			continue
		}
		assertSameProjects(t, file, cfg, again)
		if !bytes.Equal(Snapshot(src2, snap), Snapshot(src, file)) {
			t.Errorf("%s: a snapshot of the snapshot differs", file)
		}
	}
}

func assertSameProjects(t *testing.T, file string, a, b *Config) {
	t.Helper()
	if len(a.Projects) != len(b.Projects) {
		t.Fatalf("%s: %d projects, after dump %d", file, len(a.Projects), len(b.Projects))
	}
	for i := range a.Projects {
		if !reflect.DeepEqual(a.Projects[i].values, b.Projects[i].values) {
			t.Errorf("%s: [%s] values differ after dump:\n %q\n %q", file, a.Projects[i].Name, a.Projects[i].values, b.Projects[i].values)
		}
	}
}

// assertSameDump: b, loaded from a's dump, has a's values, secrets masked.
func assertSameDump(t *testing.T, file string, a, b *Config) {
	t.Helper()
	if len(a.Projects) != len(b.Projects) {
		t.Fatalf("%s: %d projects, after dump %d", file, len(a.Projects), len(b.Projects))
	}
	for i, p := range a.Projects {
		for _, k := range Keys {
			if want, got := maskSecrets(k.Name, p.Value(k.Name)), b.Projects[i].Value(k.Name); want != got {
				t.Errorf("%s: [%s] %s = %q after dump, want %q", file, p.Name, k.Name, got, want)
			}
		}
	}
}

func dropFirstLine(s string) string {
	_, rest, _ := strings.Cut(s, "\n")
	return rest
}

func TestDumpEscapesPercentAndIndentsLines(t *testing.T) {
	cfg, err := Parse(strings.NewReader("[p]\nremote = /r\nlabel = a=100%%\nenv =\n  A=1\n\n  B=2\n"), "t.ini")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_ = cfg.Dump(&b)
	for _, want := range []string{"label = a=100%%\n", "env = A=***\n\tB=***\n", "build = False\n", "tmpfs = 50\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Dump lacks %q:\n%s", want, b.String())
		}
	}
}

// TestDumpMasksSecrets: --dump-config shows every key, but never an env value or a
// remote's password; the names of the variables stay.
func TestDumpMasksSecrets(t *testing.T) {
	cfg, err := Parse(strings.NewReader("[p]\nremote = https://deploy:hunter2@git.example.org/p.git\nenv =\n  TOKEN=s3cret\n  EMPTY=\n"), "t.ini")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_ = cfg.Dump(&b)
	for _, secret := range []string{"hunter2", "s3cret"} {
		if strings.Contains(b.String(), secret) {
			t.Errorf("the dump shows %q:\n%s", secret, b.String())
		}
	}
	for _, want := range []string{"env = TOKEN=***\n\tEMPTY=***\n", "remote = https://deploy:***@git.example.org/p.git\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the dump lacks %q:\n%s", want, b.String())
		}
	}
}

// TestTenThousandProjectsLoad: 10,000 projects that take their keys from [DEFAULT] load,
// and so does their snapshot, within every bound.
func TestTenThousandProjectsLoad(t *testing.T) {
	var src strings.Builder
	src.WriteString("[DEFAULT]\nbranches = main|release/.*\ntags = v.*\nkeep_builds = 5\nenv =\n  A=1\n  B=2\n")
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&src, "\n[p%05d]\nremote = /srv/git/p%05d.git\n", i, i)
	}
	cfg, err := Parse(strings.NewReader(src.String()), "many.ini")
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(bytes.NewReader(Snapshot([]byte(src.String()), "/etc/many.ini")), "snapshot")
	if err != nil {
		t.Fatalf("the snapshot of 10,000 projects does not load: %v", err)
	}
	if len(cfg.Projects) != 10000 || len(again.Projects) != 10000 || again.Project("p09999").Tags == nil {
		t.Errorf("read %d projects, %d from the snapshot", len(cfg.Projects), len(again.Projects))
	}
}
