package docker

import (
	"context"
	"os"
	"strings"
	"time"

	"pipelined/internal/procexec"
)

// Timeout bounds each docker command of pipelined's own upkeep (clean-up, retention): an
// engine that does not answer must not hold anything up for long.
const Timeout = 30 * time.Second

// Run runs one such docker command with the process's environment, bounded by Timeout and
// canceled with ctx, and returns its combined output.
func Run(ctx context.Context, argv []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	var out strings.Builder
	_, err := procexec.Run(ctx, procexec.Cmd{Argv: argv, Env: os.Environ(), Output: &out, Grace: time.Second})
	return out.String(), err
}
