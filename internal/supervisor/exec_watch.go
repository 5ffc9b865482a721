package supervisor

import (
	"errors"
	"os"
	"strconv"

	"pipelined/internal/procexec"
)

// runPass runs one pass of pipeline-watch --once over the projects of a StartPass. It reads
// the same configuration snapshot as the builds, and its log lines go straight to the
// daemon's stderr. It is not detached: it dies with the daemon, and nothing is lost, as each
// job it writes is in the spool whole the moment it is written.
func (r *runtime) runPass(e StartPass) PassEnded {
	argv := []string{r.o.Watch, "--config", r.layout.ConfigSnapshot(), "--workdir", r.layout.Root, "--once", "--quiet", "--log"}
	if r.o.Interval > 0 {
		argv = append(argv, "--interval", strconv.Itoa(int(r.o.Interval.Seconds()))) // ssh connections outlive a pass
	}
	if r.o.PollTimeout > 0 {
		argv = append(argv, "--timeout", strconv.Itoa(int(r.o.PollTimeout.Seconds())))
	}
	if !e.All {
		for _, name := range e.Projects {
			argv = append(argv, "--project", name)
		}
	}
	ctx := r.passCtx
	res, err := procexec.Run(ctx, procexec.Cmd{Argv: argv, Env: os.Environ(), Output: os.Stderr, Grace: watcherGrace})
	var exit *procexec.ExitError
	switch {
	case err == nil, ctx.Err() != nil:
		return PassEnded{ID: e.ID}
	case errors.As(err, &exit) && exit.Code == 1:
		return PassEnded{ID: e.ID} // a remote could not be listed: the pass said so itself
	case res.Signal != 0:
		return PassEnded{ID: e.ID, Err: errors.New("pipeline-watch " + procexec.EndedText(res.ExitCode, res.Signal))}
	}
	return PassEnded{ID: e.ID, Err: err}
}
