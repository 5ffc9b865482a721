package buildlog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/atomicfile"
	"pipelined/internal/outcome"
	"pipelined/internal/procexec"
)

func TestLogLinesStartOnAFreshLineAndAreRedacted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "build.log")
	l, err := Create(path, func(s string) string { return strings.ReplaceAll(s, "hunter2", "***") })
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	l.Step("clone", at)
	l.Prompt([]string{"git", "clone", "--", "https://user:hunter2@example.com/r.git", "build dir"})
	l.File().WriteString("output without a final newline")
	l.Exit(procexec.Result{ExitCode: 128, Pid: 1, Duration: 1500 * time.Millisecond}, &procexec.ExitError{Argv: []string{"git"}, Code: 128})
	l.Exit(procexec.Result{ExitCode: -1, Pid: 1}, &procexec.ExitError{Argv: []string{"sh"}, Signal: syscall.SIGKILL})
	l.Exit(procexec.Result{TimedOut: true, Pid: 1}, errors.New("x"))
	l.Result("failed", 2*time.Second, "clone: git exited with status 128")
	l.Close()
	data, _ := os.ReadFile(path)
	want := `==> step clone at 2026-11-27T06:00:00Z
$ git clone -- https://user:***@example.com/r.git 'build dir'
output without a final newline
==> exit 128 after 1.5s
==> killed by signal 9 (SIGKILL) after 0s
==> timed out after 0s
==> result failed after 2s: clone: git exited with status 128
`
	if string(data) != want {
		t.Errorf("build.log:\n%s\nwant:\n%s", data, want)
	}
}

func TestStatusSaveReplacesTheFileWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "build.json")
	st := &Status{Project: "p", Result: outcome.Running, Started: time.Now().UTC()}
	if err := st.Save(path); err != nil {
		t.Fatal(err)
	}
	st.Result, st.Steps = outcome.Success, []Command{{Step: "clone", Argv: []string{"git"}, Exit: 0}}
	if err := st.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadStatus(path)
	if err != nil || back.Result != outcome.Success || len(back.Steps) != 1 {
		t.Fatalf("LoadStatus = %+v, %v", back, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left beside build.json: %v", entries)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o666&^atomicfile.Umask() {
		t.Errorf("build.json mode %v, want 0666 less the umask %v", info.Mode().Perm(), atomicfile.Umask())
	}
}

func TestOutcomeOfACommandThatDidNotStart(t *testing.T) {
	got := Outcome(procexec.Result{ExitCode: -1}, errors.New("starting x: no such file"))
	if got != "did not start: starting x: no such file" {
		t.Errorf("Outcome = %q", got)
	}
}

func TestLoadStatusRefusesAFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "build.json")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := LoadStatus(path); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a FIFO was read as a status")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("LoadStatus blocked on a FIFO")
	}
}

// TestLatestOfJobIsOfThisClaim: among the builds recorded under a job's name, the latest
// that started after the job's claim is its own; an earlier job of the same name (a
// webhook that names its files the same way each time) built the others.
func TestLatestOfJobIsOfThisClaim(t *testing.T) {
	refDir := t.TempDir()
	claim := time.Now().Add(-time.Minute)
	for _, b := range []struct {
		dir     string
		job     string
		started time.Time
	}{
		{"aaaaaaaa", "hook.job", claim.Add(-time.Hour)},        // the earlier job of that name
		{"bbbbbbbb", "hook.job", claim.Add(time.Second)},       // this job's first attempt
		{"bbbbbbbb-2", "hook.job", claim.Add(2 * time.Second)}, // and its second
		{"cccccccc", "other.job", claim.Add(3 * time.Second)},
	} {
		os.Mkdir(filepath.Join(refDir, b.dir), 0o755)
		st := &Status{Job: b.job, Started: b.started, Result: outcome.Success}
		if err := st.Save(filepath.Join(refDir, b.dir, "build.json")); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		since time.Time
		want  string
	}{
		{claim, "bbbbbbbb-2"},
		{claim.Add(time.Hour), ""},
		{time.Time{}, "bbbbbbbb-2"},
	} {
		if dir, _ := LatestOfJob(refDir, "hook.job", tc.since); filepath.Base(dir) != tc.want && !(dir == "" && tc.want == "") {
			t.Errorf("LatestOfJob(since %v) = %q, want %q", tc.since, dir, tc.want)
		}
	}
	// No build of this claim yet: nothing, not the earlier job's build.
	os.RemoveAll(filepath.Join(refDir, "bbbbbbbb"))
	os.RemoveAll(filepath.Join(refDir, "bbbbbbbb-2"))
	if dir, st := LatestOfJob(refDir, "hook.job", claim); dir != "" || st != nil {
		t.Errorf("LatestOfJob found %s for a job that has no build yet", dir)
	}
}
