package build

import (
	"io"
	"os"
	"time"

	"pipelined/internal/engine"
)

// Options are the inputs of one build: either a job file (how the supervisor calls it) or
// a project, a ref and maybe a commit (by hand or from cron).
type Options struct {
	Config  string // configuration file
	Workdir string // work directory
	JobFile string // a claimed job file in the spool; "" when Project and Ref are given
	// JobLocked is JobFile, opened and locked by the supervisor and handed down; nil when
	// pipeline-build is to open and lock it itself.
	JobLocked *os.File
	Project   string
	Ref       string // full ref, or a branch or tag name resolved with ls-remote
	Commit    string // "" resolves the ref's current commit
	Source    string // what started a build without a job (build.json's source); "" for manual
	// Grace is the whole time the build has between being canceled and its exit: stopping
	// the current command, removing its container and running error_callback.
	Grace   time.Duration
	Summary io.Writer // gets the one-line summary; nil for none
	// Engine is the Docker engine the build runs on (--engine): its DOCKER_HOST for every
	// docker command, and, for one that is not "local", a run step that copies files in
	// and out instead of bind-mounting them. Zero: the environment's own Docker.
	Engine engine.Engine
}

// Budgets after a cancel (SPEC §7.4), all within Options.Grace, so that pipeline-build
// exits within the grace period and the supervisor within grace + 1 s (SPEC §8):
//
//   - the running command gets SIGTERM at once and SIGKILL after stopGrace (Grace/2); a
//     running container gets `docker stop --time stopGrace`, then `docker rm -f`;
//   - error_callback and the final records get what remains, less cleanupMargin; a command
//     run after the cancel gets SIGKILL cleanupMargin/2 after its SIGTERM, so that one that
//     ignores SIGTERM cannot hold the build past the grace period.
const cleanupMargin = 500 * time.Millisecond

func stopGrace(grace time.Duration) time.Duration { return grace / 2 }
