package build

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"pipelined/internal/docker"
	"pipelined/internal/procexec"
)

// diskFull says why a failed step looks like the work directory's disk being full, or "".
func (b *builder) diskFull(step string, logFrom int64) string {
	free, known := freeBytes(b.dir)
	return diskFullReason(step, free, known, func() string { return b.log.Since(logFrom, 64<<10) })
}

// diskFullReason decides diskFull: the file system has next to no room left (free, when
// known), or a git step (whose failed clone git removes again) said so in its output.
func diskFullReason(step string, free uint64, known bool, output func() string) string {
	if known && free < minFreeBytes {
		return fmt.Sprintf("the disk of the work directory is full (%d KiB free)", free>>10)
	}
	if step != StepClone && step != StepCheckout {
		return "" // a full /tmp in a container, say, is the project's
	}
	out := output()
	for _, msg := range []string{"No space left on device", "Disk quota exceeded"} {
		if strings.Contains(out, msg) {
			return "the disk of the work directory is full (" + msg + ")"
		}
	}
	return ""
}

// minFreeBytes: a file system with less room than this is full for a build.
const minFreeBytes = 1 << 20

// freeBytes is the room left on the file system of path for an unprivileged writer.
func freeBytes(path string) (uint64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, false
	}
	return st.Bavail * uint64(st.Bsize), true
}

// engineDown asks the Docker engine for its version, bounded, after a docker step failed:
// an error means the engine, not the project, is at fault.
func (b *builder) engineDown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, engineProbeTimeout)
	defer cancel()
	var out strings.Builder
	_, err := procexec.Run(ctx, procexec.Cmd{Argv: docker.VersionArgs(), Env: b.env.List(), Output: &out, Grace: procexec.ProbeGrace})
	if err != nil {
		if msg := strings.TrimSpace(out.String()); msg != "" {
			return errors.New(clipLine(msg))
		}
		return err
	}
	return nil
}

// engineProbeTimeout bounds `docker version` after a docker step failed.
const engineProbeTimeout = 15 * time.Second

// clipLine keeps the first line of a message, at most 200 bytes.
func clipLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
