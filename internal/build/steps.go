package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"pipelined/internal/env"
	"pipelined/internal/outcome"
)

// Step names, as build.log, build.json and BUILD_STEP give them.
const (
	StepEnv             = "env"
	StepClone           = "clone"
	StepCheckout        = "checkout"
	StepPrepare         = "prepare"
	StepDockerBuild     = "docker-build"
	StepDockerRun       = "docker-run"
	StepRsync           = "rsync"
	StepSuccessCallback = "success-callback"
	StepErrorCallback   = "error-callback"
)

// errSkip marks a commit that cannot be checked out: the build is skipped, not failed.
var errSkip = errors.New("skipped")

type step struct {
	name string
	run  func(ctx context.Context) error
}

// steps lists the steps of this project's pipeline, in order (SPEC §7.1).
func (b *builder) steps() []step {
	p := b.project
	steps := []step{{StepClone, b.clone}, {StepCheckout, b.checkout}}
	if p.PrepareCallback != nil {
		steps = append(steps, step{StepPrepare, b.callback(StepPrepare, p.PrepareCallback)})
	}
	if p.Build {
		steps = append(steps, step{StepDockerBuild, b.dockerBuild})
	}
	if p.Run {
		steps = append(steps, step{StepDockerRun, b.dockerRun})
	}
	if p.Rsync.Destination != "" {
		steps = append(steps, step{StepRsync, b.rsync})
	}
	if p.SuccessCallback != nil {
		steps = append(steps, step{StepSuccessCallback, b.callback(StepSuccessCallback, p.SuccessCallback)})
	}
	return steps
}

// runSteps runs the pipeline and, unless it succeeded, error_callback. It returns the
// result and the reason for anything but success.
//
// A step's own exit status is its result: when every step has run and exited 0, the build
// succeeded, whatever signal arrived meanwhile (a success_callback that ignores SIGTERM and
// finishes has deployed; calling it canceled would deploy again at the rebuild).
func (b *builder) runSteps(ctx context.Context) (result, reason string) {
	var failed string
	var err error
	completed := false
	if b.env == nil {
		// The env_file could not be read: no step can run, but error_callback still does,
		// with the inline variables.
		failed, err = StepEnv, errors.New(b.status.Reason)
		b.env = env.Compose(os.Environ(), nil, b.project.Env)
		b.setRuntimeEnv()
	} else {
		failed, completed, err = b.runEach(ctx, b.steps())
	}
	if b.leftover != nil {
		<-b.leftover.done // a failed image build leaves the check running: no process outlives the build
	}
	if completed {
		return outcome.Success, ""
	}
	var cancel *outcome.Cancel
	if ctx.Err() != nil {
		c := b.cancelRecord()
		cancel = &c
	}
	v := judge(failed, err, cancel)
	if v.retry {
		b.status.Retry = true
	}
	if v.result == outcome.Failed && !v.retry {
		b.status.FailedOutput = b.failedOutput()
	}
	b.status.FailedStep = v.failed
	b.status.Result = v.result
	b.status.Reason = v.reason // for error_callback, which may read build.json (scripts/notify)
	reason = b.blameEngine(ctx, v)
	_ = b.save()
	if !b.status.Retry {
		b.errorCallback(ctx, v.result, v.failed)
	}
	return v.result, reason
}

// runEach runs the steps in order until one fails or the build is canceled. It returns the
// step that failed and its error, or completed when every step ran and succeeded.
func (b *builder) runEach(ctx context.Context, steps []step) (failed string, completed bool, err error) {
	for _, s := range steps {
		if ctx.Err() != nil {
			return "", false, nil
		}
		if err := b.runStep(ctx, s); err != nil {
			return s.name, false, err
		}
	}
	return "", len(steps) > 0, nil
}

// runStep runs one step. A step that failed because the work directory's disk is full is
// not the project's failure (SPEC §5.1): the job is retried.
func (b *builder) runStep(ctx context.Context, s step) error {
	b.log.Step(s.name, time.Now())
	start := b.log.Size()
	b.failOut = nil
	err := s.run(ctx)
	if err == nil {
		return nil
	}
	if full := b.diskFull(s.name, start); full != "" && ctx.Err() == nil && !errors.Is(err, errSkip) {
		b.status.Retry = true
		err = fmt.Errorf("%v; %s: the job is retried", err, full)
	}
	return err
}

// verdict is how a build whose steps did not all succeed ended.
type verdict struct {
	result string
	reason string
	failed string // the step that failed, or "between steps" for a cancel between two
	retry  bool   // not the project's result: the job is retried
}

// judge decides how a build ended whose steps did not all succeed: failed is the step that
// failed ("" for none) and err its error; cancel is the cancel's record when the build was
// canceled, nil otherwise. A commit that cannot be checked out skips the build, even if a
// cancel came meanwhile.
func judge(failed string, err error, cancel *outcome.Cancel) verdict {
	switch {
	case errors.Is(err, errSkip):
		return verdict{result: outcome.Skipped, reason: err.Error(), failed: failed}
	case cancel != nil:
		v := verdict{result: outcome.Canceled, reason: cancel.Reason, failed: failed}
		if failed == "" {
			v.failed = "between steps"
		}
		if cancel.Kind == outcome.Interrupted {
			// Stopped for an infrastructure reason (its Docker engine stopped answering): not
			// the project's result. The job is retried, and error_callback waits for one.
			v.result, v.retry = outcome.Failed, true
		}
		return v
	default:
		return verdict{result: outcome.Failed, reason: fmt.Sprintf("%s: %v", failed, err), failed: failed}
	}
}

// blameEngine asks the Docker engine whether it still answers after a docker step failed,
// and returns the reason: an engine that went away under the step makes the failure not
// the project's (SPEC §5.1), and the job is retried.
func (b *builder) blameEngine(ctx context.Context, v verdict) string {
	if v.result != outcome.Failed || (v.failed != StepDockerBuild && v.failed != StepDockerRun) {
		return v.reason
	}
	down := b.engineDown(ctx)
	if down == nil {
		return v.reason
	}
	b.status.Retry, b.status.EngineDown = true, true
	return fmt.Sprintf("%s; the Docker engine does not answer (%v): the job is retried", v.reason, down)
}

// cancelRecord is why the build was canceled: the record `pipelined cancel` or the
// supervisor left beside its job, or in the build directory of a build run by hand. A
// cancel without a record came from a signal from elsewhere.
func (b *builder) cancelRecord() outcome.Cancel {
	if b.o.JobFile != "" {
		if c := outcome.ReadCancel(outcome.CancelPath(b.o.JobFile)); c.Kind != outcome.NotCanceled {
			return c
		}
	}
	if b.dir == "" {
		return outcome.Cancel{Reason: "canceled by a signal"} // canceled before its directory was made
	}
	if c := outcome.ReadCancel(outcome.BuildCancelPath(b.dir)); c.Kind != outcome.NotCanceled {
		return c
	}
	return outcome.Cancel{Reason: "canceled by a signal"}
}
