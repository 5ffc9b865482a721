package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"pipelined/internal/buildlog"
	"pipelined/internal/config"
	"pipelined/internal/env"
	"pipelined/internal/outcome"
	"pipelined/internal/workdir"
)

// newTestBuilder is a builder whose build directory, build.log and build.json are in a
// temporary directory, with an empty environment: enough for the parts of a build that run
// no command.
func newTestBuilder(t *testing.T, p *config.Project) *builder {
	t.Helper()
	dir := t.TempDir()
	log, err := buildlog.Create(workdir.LogPath(dir), func(s string) string { return s })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	return &builder{project: p, dir: dir, log: log, status: &buildlog.Status{}, env: env.Compose(nil, nil, nil),
		ref: "refs/heads/main", commit: strings.Repeat("ab", 20), short: "abababa"}
}

func stepNames(steps []step) []string {
	var names []string
	for _, s := range steps {
		names = append(names, s.name)
	}
	return names
}

// TestStepsFollowTheOptions: the pipeline of SPEC §7.1 has clone and checkout always, and
// each other step only when the project asks for it, in a fixed order.
func TestStepsFollowTheOptions(t *testing.T) {
	argv := []string{"/bin/true"}
	for _, tc := range []struct {
		name string
		p    config.Project
		want []string
	}{
		{"build=False, no run, nothing else", config.Project{},
			[]string{StepClone, StepCheckout}},
		{"build only", config.Project{Build: true},
			[]string{StepClone, StepCheckout, StepDockerBuild}},
		{"build and run", config.Project{Build: true, Run: true},
			[]string{StepClone, StepCheckout, StepDockerBuild, StepDockerRun}},
		{"rsync of the checkout", config.Project{Rsync: config.Rsync{Destination: "/srv/www"}},
			[]string{StepClone, StepCheckout, StepRsync}},
		{"every step", config.Project{Build: true, Run: true, Rsync: config.Rsync{Destination: "host:/srv"},
			PrepareCallback: argv, SuccessCallback: argv, ErrorCallback: argv},
			[]string{StepClone, StepCheckout, StepPrepare, StepDockerBuild, StepDockerRun, StepRsync, StepSuccessCallback}},
		{"callbacks only", config.Project{PrepareCallback: argv, SuccessCallback: argv},
			[]string{StepClone, StepCheckout, StepPrepare, StepSuccessCallback}},
		{"error_callback is no step of the pipeline", config.Project{ErrorCallback: argv},
			[]string{StepClone, StepCheckout}},
	} {
		b := &builder{project: &tc.p}
		if got := stepNames(b.steps()); !slices.Equal(got, tc.want) {
			t.Errorf("%s: steps = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestRunEachStopsAtTheFirstFailureOrCancel: the steps run in order; the first that fails
// ends the pipeline and is named; a cancel ends it before the next step; only when every
// step ran and succeeded is it completed.
func TestRunEachStopsAtTheFirstFailureOrCancel(t *testing.T) {
	boom := errors.New("boom")
	b := newTestBuilder(t, &config.Project{})
	var ran []string
	ok := func(name string) step {
		return step{name, func(context.Context) error { ran = append(ran, name); return nil }}
	}
	fail := step{"fails", func(context.Context) error { ran = append(ran, "fails"); return boom }}

	ran = nil
	failed, completed, err := b.runEach(context.Background(), []step{ok("a"), fail, ok("b")})
	if failed != "fails" || completed || !errors.Is(err, boom) || !slices.Equal(ran, []string{"a", "fails"}) {
		t.Errorf("a failing step: failed %q, completed %v, err %v, ran %v", failed, completed, err, ran)
	}

	ran = nil
	failed, completed, err = b.runEach(context.Background(), []step{ok("a"), ok("b")})
	if failed != "" || !completed || err != nil || !slices.Equal(ran, []string{"a", "b"}) {
		t.Errorf("all succeed: failed %q, completed %v, err %v, ran %v", failed, completed, err, ran)
	}

	ran = nil
	ctx, cancel := context.WithCancel(context.Background())
	cancels := step{"cancels", func(context.Context) error { ran = append(ran, "cancels"); cancel(); return nil }}
	failed, completed, err = b.runEach(ctx, []step{cancels, ok("b")})
	if failed != "" || completed || err != nil || !slices.Equal(ran, []string{"cancels"}) {
		t.Errorf("canceled between steps: failed %q, completed %v, err %v, ran %v", failed, completed, err, ran)
	}

	ran = nil
	failed, completed, err = b.runEach(ctx, []step{cancels})
	if failed != "" || completed || err != nil || len(ran) != 0 {
		t.Errorf("canceled before the first step: completed %v, ran %v", completed, ran)
	}

	ran = nil
	ctx2, cancel2 := context.WithCancel(context.Background())
	last := step{"last", func(context.Context) error { ran = append(ran, "last"); cancel2(); return nil }}
	if _, completed, _ = b.runEach(ctx2, []step{ok("a"), last}); !completed {
		t.Errorf("a cancel after the last step succeeded: not completed; the steps' own exit is the result")
	}

	if log, _ := os.ReadFile(workdir.LogPath(b.dir)); !strings.Contains(string(log), "fails") {
		t.Errorf("build.log does not name the steps that ran:\n%s", log)
	}
}

// TestJudgeSortsTheEndings: a commit that cannot be checked out skips the build (even
// canceled); a cancel is canceled, between steps when no step failed, and an interrupted
// one is a failure that is retried; anything else failed, naming the step.
func TestJudgeSortsTheEndings(t *testing.T) {
	skip := fmt.Errorf("%w: commit abc is not in the clone", errSkip)
	byHand := &outcome.Cancel{Kind: outcome.Withdrawn, Reason: "canceled by alice"}
	signal := &outcome.Cancel{Reason: "canceled by a signal"}
	interrupted := &outcome.Cancel{Kind: outcome.Interrupted, Reason: "the engine stopped answering"}
	exit := errors.New("git exited with status 128")
	for _, tc := range []struct {
		name   string
		failed string
		err    error
		cancel *outcome.Cancel
		want   verdict
	}{
		{"skipped", StepCheckout, skip, nil, verdict{outcome.Skipped, skip.Error(), StepCheckout, false}},
		{"skipped though canceled", StepCheckout, skip, byHand, verdict{outcome.Skipped, skip.Error(), StepCheckout, false}},
		{"canceled in a step", StepDockerRun, exit, byHand, verdict{outcome.Canceled, "canceled by alice", StepDockerRun, false}},
		{"canceled between steps", "", nil, signal, verdict{outcome.Canceled, "canceled by a signal", "between steps", false}},
		{"interrupted", StepDockerBuild, exit, interrupted, verdict{outcome.Failed, "the engine stopped answering", StepDockerBuild, true}},
		{"failed", StepClone, exit, nil, verdict{outcome.Failed, "clone: git exited with status 128", StepClone, false}},
	} {
		if got := judge(tc.failed, tc.err, tc.cancel); got != tc.want {
			t.Errorf("%s: judge = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestCancelRecordSaysWhoCanceled: the job's record first, then the build directory's (a
// build by hand), else a signal from elsewhere.
func TestCancelRecordSaysWhoCanceled(t *testing.T) {
	b := newTestBuilder(t, &config.Project{})
	if c := b.cancelRecord(); c.Kind != outcome.NotCanceled || c.Reason != "canceled by a signal" {
		t.Errorf("no record: %+v, want a signal", c)
	}
	write := func(path string, c outcome.Cancel) {
		t.Helper()
		if _, err := outcome.WriteCancel(path, c); err != nil {
			t.Fatal(err)
		}
	}
	write(outcome.BuildCancelPath(b.dir), outcome.Cancel{Kind: outcome.Withdrawn, Reason: "by hand"})
	if c := b.cancelRecord(); c.Reason != "by hand" {
		t.Errorf("the build directory's record: %+v", c)
	}
	b.o.JobFile = filepath.Join(t.TempDir(), "job.json")
	if c := b.cancelRecord(); c.Reason != "by hand" {
		t.Errorf("a job without a record of its own: %+v, want the build directory's", c)
	}
	write(outcome.CancelPath(b.o.JobFile), outcome.Cancel{Kind: outcome.Stopped, Reason: outcome.StoppedReason})
	if c := b.cancelRecord(); c.Kind != outcome.Stopped || c.Reason != outcome.StoppedReason {
		t.Errorf("the job's record: %+v, want it before the build directory's", c)
	}
}

// TestRunStepRetriesAFullDisk: a git step that failed saying the disk is full is retried,
// not failed; the same words from another step, or a commit that cannot be checked out,
// are the project's.
func TestRunStepRetriesAFullDisk(t *testing.T) {
	full := "fatal: write error: No space left on device\n"
	for _, tc := range []struct {
		name  string
		step  string
		out   string
		err   error
		retry bool
	}{
		{"clone on a full disk", StepClone, full, errors.New("git exited with status 128"), true},
		{"checkout over quota", StepCheckout, "error: Disk quota exceeded\n", errors.New("git exited with status 1"), true},
		{"clone failing otherwise", StepClone, "fatal: repository not found\n", errors.New("git exited with status 128"), false},
		{"a full /tmp in the container", StepDockerRun, full, errors.New("docker exited with status 1"), false},
		{"a commit not in the clone", StepCheckout, full, fmt.Errorf("%w: not there", errSkip), false},
	} {
		b := newTestBuilder(t, &config.Project{})
		err := b.runStep(context.Background(), step{tc.step, func(context.Context) error {
			b.log.File().WriteString(tc.out)
			return tc.err
		}})
		if err == nil || !strings.HasPrefix(err.Error(), tc.err.Error()) {
			t.Errorf("%s: err = %v, want it to keep %v", tc.name, err, tc.err)
			continue
		}
		retried := strings.Contains(err.Error(), "the job is retried")
		if b.status.Retry != tc.retry || retried != tc.retry {
			t.Errorf("%s: Retry %v, err %q; want retry %v", tc.name, b.status.Retry, err, tc.retry)
		}
	}
}

// TestBlameEngineAsksOnlyAfterADockerStep: a failed docker step whose engine does not
// answer is retried, its reason saying so; any other ending is left as it is, without
// asking the engine.
func TestBlameEngineAsksOnlyAfterADockerStep(t *testing.T) {
	for _, v := range []verdict{
		{result: outcome.Failed, reason: "clone: git exited with status 128", failed: StepClone},
		{result: outcome.Canceled, reason: "canceled by a signal", failed: StepDockerRun},
		{result: outcome.Skipped, reason: "skipped", failed: StepCheckout},
	} {
		b := newTestBuilder(t, &config.Project{})
		b.env = nil // asking the engine would need the environment
		if got := b.blameEngine(context.Background(), v); got != v.reason || b.status.Retry || b.status.EngineDown {
			t.Errorf("%+v: blameEngine = %q, Retry %v, EngineDown %v; want it unchanged", v, got, b.status.Retry, b.status.EngineDown)
		}
	}
	b := newTestBuilder(t, &config.Project{})
	b.env = env.Compose([]string{"PATH=" + os.Getenv("PATH"), "DOCKER_HOST=unix://" + filepath.Join(b.dir, "no.sock")}, nil, nil)
	v := verdict{result: outcome.Failed, reason: "docker-run: docker exited with status 125", failed: StepDockerRun}
	got := b.blameEngine(context.Background(), v)
	if !b.status.Retry || !b.status.EngineDown || !strings.HasPrefix(got, v.reason+"; the Docker engine does not answer") {
		t.Errorf("an engine that does not answer: blameEngine = %q, Retry %v, EngineDown %v", got, b.status.Retry, b.status.EngineDown)
	}
}
