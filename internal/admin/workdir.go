package admin

import (
	"pipelined/internal/outcome"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// openWorkdir opens an existing work directory (workdir.Open): a mistyped --workdir is
// refused rather than created.
func openWorkdir(path string) (workdir.Layout, error) { return workdir.Open(path) }

// openSpool opens the spool of an existing work directory (see openWorkdir), with its
// job keeper: admin commands ask it to move job files, never move them themselves.
func openSpool(path string) (workdir.Layout, *outcome.Jobs, error) {
	layout, err := openWorkdir(path)
	if err != nil {
		return layout, nil, err
	}
	sp, err := spool.Open(layout.SpoolDir())
	if err != nil {
		return layout, nil, err
	}
	return layout, outcome.NewJobs(sp), nil
}
