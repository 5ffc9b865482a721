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
		steps := b.steps()
		for i, s := range steps {
			if ctx.Err() != nil {
				break
			}
			b.log.Step(s.name, time.Now())
			start := b.log.Size()
			b.failOut = nil
			if err = s.run(ctx); err != nil {
				failed = s.name
				if full := b.diskFull(s.name, start); full != "" && ctx.Err() == nil && !errors.Is(err, errSkip) {
					// Not the project's failure: the work directory's disk (SPEC §5.1).
					b.status.Retry = true
					err = fmt.Errorf("%v; %s: the job is retried", err, full)
				}
				break
			}
			completed = i == len(steps)-1
		}
	}
	if b.leftover != nil {
		<-b.leftover.done // a failed image build leaves the check running: no process outlives the build
	}
	switch {
	case completed:
		return outcome.Success, ""
	case errors.Is(err, errSkip):
		result, reason = outcome.Skipped, err.Error()
	case ctx.Err() != nil:
		c := b.cancelRecord()
		result, reason = outcome.Canceled, c.Reason
		if failed == "" {
			failed = "between steps"
		}
		if c.Kind == outcome.Interrupted {
			// Stopped for an infrastructure reason (its Docker engine stopped answering): not
			// the project's result. The job is retried, and error_callback waits for one.
			result, b.status.Retry = outcome.Failed, true
		}
	default:
		result, reason = outcome.Failed, fmt.Sprintf("%s: %v", failed, err)
		b.status.FailedOutput = b.failedOutput()
	}
	b.status.FailedStep = failed
	b.status.Result = result
	b.status.Reason = reason // for error_callback, which may read build.json (scripts/notify)
	if result == outcome.Failed && (failed == StepDockerBuild || failed == StepDockerRun) {
		if down := b.engineDown(ctx); down != nil {
			// Not the project's failure: the engine went away under it (SPEC §5.1).
			b.status.Retry, b.status.EngineDown = true, true
			reason = fmt.Sprintf("%s; the Docker engine does not answer (%v): the job is retried", reason, down)
		}
	}
	_ = b.save()
	if !b.status.Retry {
		b.errorCallback(ctx, result, failed)
	}
	return result, reason
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
	if c := outcome.ReadCancel(outcome.BuildCancelPath(b.dir)); c.Kind != outcome.NotCanceled {
		return c
	}
	return outcome.Cancel{Reason: "canceled by a signal"}
}
