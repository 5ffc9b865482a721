package build

import (
	"pipelined/internal/env"
	"pipelined/internal/refname"
	"pipelined/internal/workdir"
)

// noteFailure remembers where the output of the first command of the current step that
// failed is in build.log: its last lines are the error a reader looks for (git's "fatal:",
// rsync's "mkdir … failed"), where the reason only has the exit status. Later commands of
// the step (a container's removal) are clean-up, not the error.
func (b *builder) noteFailure(failed bool, outFrom int64) {
	if failed && b.failOut == nil {
		b.failOut = &[2]int64{outFrom, b.log.Size()}
	}
}

// failedOutput is the last lines of the failing command's output, bounded and with secret
// values masked (buildlog.Log.Tail), or nil when the step failed without a command failing.
func (b *builder) failedOutput() []string {
	if b.failOut == nil {
		return nil
	}
	return b.log.Tail(b.failOut[0], b.failOut[1])
}

// setCommitURL records the commit's link for the status pages (config.Project.CommitLink).
func (b *builder) setCommitURL() {
	b.status.CommitURL = b.project.CommitLink(map[string]string{
		env.BuildProject: b.project.Name, env.BuildRef: b.ref, env.BuildRefName: refname.ShortName(b.ref),
		env.BuildCommit: b.status.Commit, env.BuildShortCommit: workdir.ShortCommit(b.status.Commit),
	})
}
