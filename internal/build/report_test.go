package build

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/config"
	"pipelined/internal/forge"
	"pipelined/internal/outcome"
	"pipelined/internal/workdir"
)

// TestCanceledText: "superseded by SHORT" is the whole story; any other cancel says so.
func TestCanceledText(t *testing.T) {
	for reason, want := range map[string]string{
		"superseded by 1a2b3c4":  "superseded by 1a2b3c4",
		"canceled by a signal":   "canceled: canceled by a signal",
		"superseded by ":         "canceled: superseded by ",
		"asked by alice":         "canceled: asked by alice",
		"not superseded by this": "canceled: not superseded by this",
	} {
		if got := canceledText(reason); got != want {
			t.Errorf("canceledText(%q) = %q, want %q", reason, got, want)
		}
	}
}

// TestFailedTextNamesTheStepsLastCommand: the failed step with how its last command ended;
// the reason when the step ran no command.
func TestFailedTextNamesTheStepsLastCommand(t *testing.T) {
	b := &builder{status: &buildlog.Status{FailedStep: StepRsync, Steps: []buildlog.Command{
		{Step: StepClone, Outcome: "exit 0"},
		{Step: StepRsync, Outcome: "exit 0"},
		{Step: StepRsync, Outcome: "exit 11"},
		{Step: StepErrorCallback, Outcome: "exit 0"},
	}}}
	if got := b.failedText("rsync: rsync exited with status 11"); got != "rsync failed (exit 11)" {
		t.Errorf("failedText = %q", got)
	}
	b.status.FailedStep = StepDockerBuild
	if got := b.failedText("docker-build: dockerfile x leads outside the checkout"); got != "failed: docker-build: dockerfile x leads outside the checkout" {
		t.Errorf("a step without a command: failedText = %q", got)
	}
}

// reportingBuilder is a builder of a project that reports to a forge, with an outbox in a
// temporary work directory.
func reportingBuilder(t *testing.T) *builder {
	b := newTestBuilder(t, &config.Project{Name: "app", Enabled: true,
		Forge: config.Forge{Kind: config.ForgeGitHub, Repo: "team/app", Context: "ci/pipelined"}})
	b.layout = workdir.Layout{Root: t.TempDir()}
	b.status.Started = time.Now().Add(-90 * time.Second)
	return b
}

// waiting is the one status the builder queued.
func waiting(t *testing.T, b *builder) forge.Record {
	t.Helper()
	recs, _, err := forge.Waiting(b.layout.OutboxDir())
	if err != nil || len(recs) != 1 {
		t.Fatalf("the outbox holds %d records (%v), want 1", len(recs), err)
	}
	return recs[0]
}

// TestFinishedPhrasesTheResult: the state and description each result is reported with;
// under the daemon an infrastructure error is the daemon's to report.
func TestFinishedPhrasesTheResult(t *testing.T) {
	for _, tc := range []struct {
		name        string
		result      string
		reason      string
		retry       bool
		jobFile     bool
		stopped     bool // the daemon's shutdown canceled it
		state       forge.State
		description string // its beginning
	}{
		{"success", outcome.Success, "", false, false, false, forge.Succeeded, "succeeded in 1m30s"},
		{"skipped", outcome.Skipped, "skipped: commit abc is gone", false, false, false, forge.Skipped, "skipped: commit abc is gone"},
		{"superseded", outcome.Canceled, "superseded by 1a2b3c4", false, true, false, forge.Canceled, "superseded by 1a2b3c4"},
		{"canceled", outcome.Canceled, "canceled by a signal", false, false, false, forge.Canceled, "canceled: canceled by a signal"},
		{"the daemon stopped", outcome.Canceled, outcome.StoppedReason, false, true, true, forge.Interrupted, "interrupted: the daemon stopped"},
		{"failed", outcome.Failed, "clone: git exited with status 128", false, false, false, forge.Failed, "failed: clone: git exited"},
		{"infrastructure, by hand", outcome.Failed, "the disk is full", true, false, false, forge.Broken, "infrastructure error: the disk is full"},
	} {
		b := reportingBuilder(t)
		b.status.Retry = tc.retry
		if tc.jobFile {
			b.o.JobFile = filepath.Join(t.TempDir(), "job.json")
		}
		if tc.stopped {
			if _, err := outcome.WriteCancel(outcome.CancelPath(b.o.JobFile), outcome.Cancel{Kind: outcome.Stopped, Reason: tc.reason}); err != nil {
				t.Fatal(err)
			}
		}
		b.finished(tc.result, tc.reason)
		r := waiting(t, b)
		if r.State != tc.state || !strings.HasPrefix(r.Description, tc.description) || r.Commit != b.commit || r.Context != "ci/pipelined" {
			t.Errorf("%s: reported %s %q for %s in %q; want %s %q…", tc.name, r.State, r.Description, r.Commit, r.Context, tc.state, tc.description)
		}
	}

	b := reportingBuilder(t)
	b.o.JobFile = filepath.Join(t.TempDir(), "job.json")
	b.status.Retry = true
	b.finished(outcome.Failed, "the disk is full")
	if recs, _, _ := forge.Waiting(b.layout.OutboxDir()); len(recs) != 0 {
		t.Errorf("an infrastructure error under the daemon was reported by the build: %+v", recs)
	}
}

// TestReportGoesNowhereWithoutAForge: a project without a forge, or a build that never
// learned its commit, queues nothing.
func TestReportGoesNowhereWithoutAForge(t *testing.T) {
	b := reportingBuilder(t)
	b.project.Forge = config.Forge{}
	b.report(forge.Started, "building")
	b2 := reportingBuilder(t)
	b2.commit = ""
	b2.report(forge.Started, "building")
	for _, b := range []*builder{b, b2} {
		if _, err := os.Stat(b.layout.OutboxDir()); err == nil {
			t.Errorf("an outbox was made for %+v", b.project.Forge)
		}
	}
}

// TestReportThatCannotBeQueuedIsAWarning: the build goes on; build.log and the summary say
// the forge will not show it.
func TestReportThatCannotBeQueuedIsAWarning(t *testing.T) {
	b := reportingBuilder(t)
	var summary bytes.Buffer
	b.o.Summary = &summary
	if err := os.WriteFile(filepath.Join(b.layout.Root, ".pipelined"), nil, 0o666); err != nil {
		t.Fatal(err) // a file where the outbox's directory would be
	}
	b.report(forge.Started, "building")
	if !strings.Contains(summary.String(), "pipeline-build: warning: queueing the started status") {
		t.Errorf("summary: %q", summary.String())
	}
	if out := b.log.Since(0, 1<<16); !strings.Contains(out, "the forge will not show this") {
		t.Errorf("build.log: %q", out)
	}
}

// TestNewDeliveryOnlyByHandWithoutADaemon: a job's build, or one beside a running daemon,
// leaves delivery to the daemon.
func TestNewDeliveryOnlyByHandWithoutADaemon(t *testing.T) {
	for _, tc := range []struct {
		jobFile    string
		daemonRuns bool
		want       bool
	}{
		{"", false, true},
		{"", true, false},
		{"/w/spool/cur/job.json", false, false},
		{"/w/spool/cur/job.json", true, false},
	} {
		d := newDelivery(Options{JobFile: tc.jobFile}, &config.Config{}, "/w/outbox", tc.daemonRuns)
		if (d != nil) != tc.want {
			t.Errorf("job %q, daemon %v: delivery %v, want %v", tc.jobFile, tc.daemonRuns, d != nil, tc.want)
		}
	}
}
