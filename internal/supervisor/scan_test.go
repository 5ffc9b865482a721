package supervisor

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/outcome"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// TestBuiltByMeetsEveryJobButARebuild: a job whose commit another job has built (a result
// of its own) is met already, whoever wrote it — a redelivered webhook, a repeated enqueue,
// a retry; a job that asks for a rebuild is met only by a build that started after it was
// queued; a canceled build meets nothing, and a job's own earlier attempts never count,
// while the build of an earlier job that had the same name (a webhook writer with fixed
// names) does.
func TestBuiltByMeetsEveryJobButARebuild(t *testing.T) {
	l := workdir.Layout{Root: t.TempDir()}
	c := strings.Repeat("d3", 20)
	dir := filepath.Join(l.RefDir("p", "refs/heads/b0"), c[:8]+"-2")
	os.MkdirAll(dir, 0o755)
	queued := time.Now().Add(-time.Hour)
	st := &buildlog.Status{Project: "p", Ref: "refs/heads/b0", Commit: c, Path: dir, Job: "watch.job", Result: outcome.Success,
		Started: queued.Add(time.Minute)}
	if err := st.Save(workdir.StatusPath(dir)); err != nil {
		t.Fatal(err)
	}
	sc := &scanner{layout: l}
	webhook := spool.Job{Project: "p", Ref: "refs/heads/b0", Commit: c, Source: spool.SourceWebhook}
	rebuild := webhook
	rebuild.Rebuild = true
	retry := webhook
	retry.Attempts = []spool.Attempt{{At: time.Now(), Reason: "the build process was killed by signal 9 (SIGKILL)"}}
	for _, tc := range []struct {
		name   string
		job    spool.Job
		queued time.Time
		want   bool
	}{
		{"redelivered.job", webhook, queued, true},
		{"retry.job", retry, queued, true},
		{"other.job", spool.Job{Project: "p", Ref: "refs/heads/b0", Commit: c, Source: spool.SourceWatch}, queued, true},
		{"rebuild.job", rebuild, queued, true},                       // rebuilt by another job since it was queued
		{"rebuild.job", rebuild, queued.Add(2 * time.Minute), false}, // the build it asks to repeat
		{"watch.job", retry, queued, false},                          // its own build
		{"watch.job", webhook, queued.Add(2 * time.Minute), true},    // an earlier job's of the same name
		{"nocommit.job", spool.Job{Project: "p", Ref: "refs/heads/b0"}, queued, false},
	} {
		if got := sc.builtBy(tc.name, tc.job, tc.queued) != ""; got != tc.want {
			t.Errorf("builtBy(%s, rebuild %v, %d attempts) = %v, want %v", tc.name, tc.job.Rebuild, len(tc.job.Attempts), got, tc.want)
		}
	}
	// A build that was canceled (or stopped for a retry of its own) met nothing.
	st.Result = outcome.Canceled
	if err := st.Save(workdir.StatusPath(dir)); err != nil {
		t.Fatal(err)
	}
	if got := sc.builtBy("redelivered.job", webhook, queued); got != "" {
		t.Errorf("a job is taken as met by a canceled build: %s", got)
	}
}

// TestOrWhySaysEachReasonOnce: the log line's reason is the outcome's, with what the build
// recorded or printed, never the same words twice.
func TestOrWhySaysEachReasonOnce(t *testing.T) {
	for _, c := range []struct{ why, reason, stderr, want string }{
		{"canceled because pipelined stopped", outcome.StoppedReason, "", outcome.StoppedReason},
		{"an infrastructure error stopped the build", "clone: disk full", "", "an infrastructure error stopped the build: clone: disk full"},
		{"the build process was killed by signal 9 (SIGKILL)", "", "line 1\nlast line", "the build process was killed by signal 9 (SIGKILL): last line"},
		{"x", "", "", "x"},
	} {
		if got := orWhy(c.why, c.reason, c.stderr); got != c.want {
			t.Errorf("orWhy(%q, %q, %q) = %q, want %q", c.why, c.reason, c.stderr, got, c.want)
		}
	}
}

// TestAScanSeesTheAttemptsOfARetriedJob: a job claimed and retried before any scan saw it
// gone comes back under its name with the same file time and size; its attempts (kept
// apart from the file) are read all the same, and with them its back-off.
func TestAScanSeesTheAttemptsOfARetriedJob(t *testing.T) {
	sp, jobs, sc := newScanSpool(t)
	job := spool.Job{Project: "p", Ref: "refs/heads/main", Commit: strings.Repeat("e", 40)}
	name, err := sp.Write(job)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute) // not a young file
	os.Chtimes(sp.Path(spool.New, name), old, old)
	if q, _, _ := sc.scan(); len(q) != 1 || len(q[0].Job.Attempts) != 0 {
		t.Fatalf("first scan: %+v", q)
	}
	if _, err := jobs.Claim(name); err != nil {
		t.Fatal(err)
	}
	sc.forget(name) // as startBuild does
	attempts := outcome.WithAttempt(nil, time.Now(), "the remote could not be asked")
	if _, err := jobs.Retry(name, job, attempts); err != nil {
		t.Fatal(err)
	}
	q, _, _ := sc.scan()
	if len(q) != 1 || len(q[0].Job.Attempts) != 1 {
		t.Fatalf("the retried job was scanned as %+v, want its attempt", q)
	}
	if at := outcome.RetryAt(q[0].Job.Attempts); !at.After(time.Now()) {
		t.Errorf("the retried job is due at %v, want after its back-off", at)
	}
}

// TestANewcomerNamedLikeARetriedJobTakesNotItsAttempts: a webhook writer with a fixed name
// drops a job while the last job of that name runs a retry. The attempts recorded under the
// name are the running job's: the newcomer waits out no back-off of theirs, and when it is
// claimed under a fresh name they stay with the running job.
func TestANewcomerNamedLikeARetriedJobTakesNotItsAttempts(t *testing.T) {
	sp, jobs, sc := newScanSpool(t)
	job := spool.Job{Project: "p", Ref: "refs/heads/main", Commit: strings.Repeat("e", 40)}
	name, err := sp.Write(job)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Claim(name); err != nil {
		t.Fatal(err)
	}
	attempts := outcome.WithAttempt(nil, time.Now(), "the remote could not be asked")
	if _, err := jobs.Retry(name, job, attempts); err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Claim(name); err != nil { // its second attempt runs
		t.Fatal(err)
	}
	newer := job
	newer.Commit = strings.Repeat("f", 40)
	os.WriteFile(sp.Path(spool.New, name), newer.Encode(), 0o644)
	old := time.Now().Add(-time.Minute) // not a young file
	os.Chtimes(sp.Path(spool.New, name), old, old)
	q, _, _ := sc.scan()
	if len(q) != 1 || len(q[0].Job.Attempts) != 0 {
		t.Fatalf("the newcomer was scanned as %+v, want no attempts", q)
	}
	claimed, err := jobs.Claim(name)
	if err != nil || claimed == name {
		t.Fatalf("Claim = %q, %v", claimed, err)
	}
	if got := jobs.Attempts(claimed); len(got) != 0 {
		t.Errorf("the newcomer took %d attempts of the running job", len(got))
	}
	if got := jobs.Attempts(name); len(got) != 1 {
		t.Errorf("the running job has %d attempts, want 1", len(got))
	}
}

// TestAJobFileDatedInTheFutureKeepsItsPlace: the queue is in the order of the files' times,
// and a job file dated years ahead (touch -d, cp -p, a writer with a skewed clock) would be
// the newest of its ref for ever — superseding every job queued after it. It is queued as of
// when it was first seen.
func TestAJobFileDatedInTheFutureKeepsItsPlace(t *testing.T) {
	l := workdir.Layout{Root: t.TempDir()}
	sp, err := spool.Open(l.SpoolDir())
	if err != nil {
		t.Fatal(err)
	}
	sc := newScanner(outcome.NewJobs(sp), l, slog.New(slog.DiscardHandler))
	older := spool.Job{Project: "p", Ref: "refs/heads/main", Commit: strings.Repeat("a", 40)}
	first, err := sp.Write(older)
	if err != nil {
		t.Fatal(err)
	}
	future := time.Now().AddDate(70, 0, 0)
	os.Chtimes(sp.Path(spool.New, first), future, future)
	if q, _, _ := sc.scan(); len(q) != 1 {
		t.Fatalf("first scan: %+v", q)
	}
	newer := older
	newer.Commit = strings.Repeat("b", 40)
	second, err := sp.Write(newer)
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Second) // written after the first scan
	os.Chtimes(sp.Path(spool.New, second), later, later)
	q, _, _ := sc.scan()
	if len(q) != 2 || q[0].Name != first || q[1].Name != second {
		t.Errorf("queue %+v, want %s then %s", q, first, second)
	}
}

// newScanSpool gives a test an empty spool, its outcome.Jobs and a scanner of it.
func newScanSpool(t *testing.T) (*spool.Spool, *outcome.Jobs, *scanner) {
	t.Helper()
	l := workdir.Layout{Root: t.TempDir()}
	sp, err := spool.Open(l.SpoolDir())
	if err != nil {
		t.Fatal(err)
	}
	jobs := outcome.NewJobs(sp)
	return sp, jobs, newScanner(jobs, l, nil)
}
