package admin

import (
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// openWorkdir opens an existing work directory (workdir.Open): a mistyped --workdir is
// refused rather than created.
func openWorkdir(path string) (workdir.Layout, error) { return workdir.Open(path) }

// openSpool opens the spool of an existing work directory (see openWorkdir).
func openSpool(path string) (workdir.Layout, *spool.Spool, error) {
	layout, err := openWorkdir(path)
	if err != nil {
		return layout, nil, err
	}
	sp, err := spool.Open(layout.SpoolDir())
	return layout, sp, err
}
