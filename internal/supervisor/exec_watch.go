package supervisor

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"

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
	cmd := procexec.Cmd{Argv: argv, Env: os.Environ(), Output: os.Stderr, Grace: watcherGrace}
	// The pass names each remote it is done with on a pipe, so that one it is stuck on
	// holds up no other; without the pipe, its remotes are done when it ends.
	if done, w, err := os.Pipe(); err == nil {
		cmd.Argv = append(cmd.Argv, "--done-fd", "3")
		cmd.ExtraFiles = []*os.File{w}
		cmd.OnStart = func(int) { w.Close() }
		read := r.readDone(e.ID, done)
		defer func() {
			done.Close() // what comes after the pass has ended is of no use
			<-read
			w.Close()
		}()
	}
	res, err := procexec.Run(ctx, cmd)
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

// readDone sends a RemoteDone with the lines the pass writes on done, until done is
// closed: all those a read returns at once, so that a loop busy with many remotes done
// in quick succession gets few events.
func (r *runtime) readDone(id int, done *os.File) <-chan struct{} {
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		buf := make([]byte, 32<<10)
		var partial []byte
		for {
			n, err := done.Read(buf)
			lines := append(partial, buf[:n]...)
			last := bytes.LastIndexByte(lines, '\n')
			if last >= 0 {
				r.send(RemoteDone{ID: id, Keys: strings.Fields(string(lines[:last]))})
			}
			partial = append([]byte(nil), lines[last+1:]...)
			if err != nil {
				return
			}
		}
	}()
	return ended
}
