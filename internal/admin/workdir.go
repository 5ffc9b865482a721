package admin

import (
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// openSpool opens the work directory's spool.
func openSpool(path string) (workdir.Layout, *spool.Spool, error) {
	layout, err := workdir.New(path)
	if err != nil {
		return layout, nil, err
	}
	sp, err := spool.Open(layout.SpoolDir())
	return layout, sp, err
}
