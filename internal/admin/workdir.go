package admin

import (
	"os"

	"pipelined/internal/exitcode"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// openWorkdir opens an existing work directory: one the daemon or pipeline-build has
// created, which has its .pipelined/. A mistyped --workdir is refused rather than created,
// since a job queued there would wait for a daemon that never comes.
func openWorkdir(path string) (workdir.Layout, error) {
	layout, err := workdir.New(path)
	if err != nil {
		return layout, err
	}
	if info, err := os.Stat(layout.StateDir()); err != nil || !info.IsDir() {
		return layout, exitcode.Usagef("%s is not a pipelined work directory: it has no .pipelined/ (is --workdir mistyped? "+
			"pipelined and pipeline-build create it on their first run)", layout.Root)
	}
	return layout, nil
}

// openSpool opens the spool of an existing work directory (see openWorkdir).
func openSpool(path string) (workdir.Layout, *spool.Spool, error) {
	layout, err := openWorkdir(path)
	if err != nil {
		return layout, nil, err
	}
	sp, err := spool.Open(layout.SpoolDir())
	return layout, sp, err
}
