package docker

import (
	"context"
	"os"
	"strings"
	"time"

	"pipelined/internal/engine"
	"pipelined/internal/procexec"
)

// Timeout bounds each docker command of pipelined's own upkeep (clean-up, retention): an
// engine that does not answer must not hold anything up for long.
const Timeout = 30 * time.Second

// Run runs one such docker command on the engine at host (DOCKER_HOST; "" for the
// environment's own) with the process's environment, bounded by Timeout and canceled with
// ctx, and returns its combined output.
func Run(ctx context.Context, host string, argv []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	var out strings.Builder
	_, err := procexec.Run(ctx, procexec.Cmd{Argv: argv, Env: engine.WithHost(os.Environ(), host), Output: &out, Grace: procexec.ProbeGrace})
	return out.String(), err
}
