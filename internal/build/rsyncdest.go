package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"pipelined/internal/procexec"
	"pipelined/internal/rsync"
)

// prepareDestination lets rsync.destination name directories that do not exist yet
// (/srv/www/app/${BUILD_REF_NAME} for feature/x): rsync itself makes only the last one.
// A local destination's missing parents are made here, honouring the umask; for a remote
// one it reports whether the installed rsync has --mkpath, which makes the receiver create
// them.
func (b *builder) prepareDestination(ctx context.Context, dest string) (mkpath bool, err error) {
	if rsync.Remote(dest) {
		var out strings.Builder
		ctx, cancel := context.WithTimeout(ctx, rsyncVersionTimeout)
		defer cancel()
		_, err := procexec.Run(ctx, procexec.Cmd{Argv: rsync.VersionArgs(), Env: b.env.List(), Output: &out, Grace: procexec.ProbeGrace})
		if err == nil && rsync.HasMkPath(out.String()) {
			return true, nil
		}
		b.log.Note("this rsync has no --mkpath (3.2.3 or later): the destination's parent directories must exist")
		return false, nil
	}
	local := dest
	if !filepath.IsAbs(local) {
		local = filepath.Join(b.dir, local) // rsync runs in the build directory
	}
	parent := filepath.Dir(filepath.Clean(local))
	if _, err := os.Stat(parent); err == nil {
		return false, nil
	}
	if err := os.MkdirAll(parent, 0o777); err != nil {
		return false, fmt.Errorf("creating the destination's directory: %w", err)
	}
	b.log.Note("created the destination's directory %s", parent)
	return false, nil
}

// rsyncVersionTimeout bounds `rsync --version`.
const rsyncVersionTimeout = 15 * time.Second

// explainRsync names the directory a remote destination lacks when an rsync without
// --mkpath could not make it: the reason then says what to do, not only "exited with
// status 11".
func (b *builder) explainRsync(err error, dest string, mkpath bool) error {
	if err == nil || mkpath || !rsync.Remote(dest) {
		return err
	}
	if dir := rsync.MissingDir(b.failedOutput()); dir != "" {
		return fmt.Errorf("%w: the destination has no directory %s and this rsync cannot make its parents "+
			"(--mkpath needs rsync 3.2.3 or later, here and at the destination): create it there, or upgrade rsync", err, dir)
	}
	return err
}
