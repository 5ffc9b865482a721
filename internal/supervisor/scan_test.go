package supervisor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// TestBuiltByCountsForWatchJobsAndRetries: a watcher's job whose commit another job has
// built, or a retry of any job whose commit another job has built since it was queued, is
// met already; a first attempt asked for by hand or by a webhook builds again, and a job's
// own earlier attempts never count.
func TestBuiltByCountsForWatchJobsAndRetries(t *testing.T) {
	l := workdir.Layout{Root: t.TempDir()}
	c := strings.Repeat("d3", 20)
	dir := filepath.Join(l.RefDir("p", "refs/heads/b0"), c[:8]+"-2")
	os.MkdirAll(dir, 0o755)
	queued := time.Now().Add(-time.Hour)
	st := &buildlog.Status{Project: "p", Ref: "refs/heads/b0", Commit: c, Path: dir, Job: "watch.job", Result: buildlog.Success,
		Started: queued.Add(time.Minute)}
	if err := st.Save(workdir.StatusPath(dir)); err != nil {
		t.Fatal(err)
	}
	sc := &scanner{layout: l}
	retry := spool.Job{Project: "p", Ref: "refs/heads/b0", Commit: c, Source: spool.SourceManual,
		Attempts: []spool.Attempt{{At: time.Now(), Reason: "the build process was killed by signal 9 (SIGKILL)"}}}
	for _, tc := range []struct {
		name string
		job  spool.Job
		want bool
	}{
		{"manual.job", retry, true},
		{"manual.job", spool.Job{Project: "p", Ref: "refs/heads/b0", Commit: c, Source: spool.SourceManual}, false},
		{"other.job", spool.Job{Project: "p", Ref: "refs/heads/b0", Commit: c, Source: spool.SourceWatch}, true},
		{"watch.job", retry, false}, // its own build
	} {
		if got := sc.builtBy(tc.name, tc.job, queued) != ""; got != tc.want {
			t.Errorf("builtBy(%s, %s, %d attempts) = %v, want %v", tc.name, tc.job.Source, len(tc.job.Attempts), got, tc.want)
		}
	}
	// A rebuild asked for by hand after that build, retried: the build it asks to repeat
	// does not meet it.
	if dir := sc.builtBy("manual.job", retry, queued.Add(2*time.Minute)); dir != "" {
		t.Errorf("a retried rebuild is taken as met by the build it repeats: %s", dir)
	}
	// A build that was canceled (or stopped for a retry of its own) met nothing.
	st.Result = buildlog.Canceled
	if err := st.Save(workdir.StatusPath(dir)); err != nil {
		t.Fatal(err)
	}
	if got := sc.builtBy("manual.job", retry, queued); got != "" {
		t.Errorf("a retry is taken as met by a canceled build: %s", got)
	}
}

// TestOrWhySaysEachReasonOnce: the log line's reason is the outcome's, with what the build
// recorded or printed, never the same words twice.
func TestOrWhySaysEachReasonOnce(t *testing.T) {
	for _, c := range []struct{ why, reason, stderr, want string }{
		{"canceled because pipelined stopped", spool.StoppedReason, "", spool.StoppedReason},
		{"an infrastructure error stopped the build", "clone: disk full", "", "an infrastructure error stopped the build: clone: disk full"},
		{"the build process was killed by signal 9 (SIGKILL)", "", "line 1\nlast line", "the build process was killed by signal 9 (SIGKILL): last line"},
		{"x", "", "", "x"},
	} {
		if got := orWhy(c.why, c.reason, c.stderr); got != c.want {
			t.Errorf("orWhy(%q, %q, %q) = %q, want %q", c.why, c.reason, c.stderr, got, c.want)
		}
	}
}
