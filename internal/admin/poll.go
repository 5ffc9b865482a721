package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"pipelined/internal/config"
	"pipelined/internal/exitcode"
	"pipelined/internal/procexec"
	"pipelined/internal/spool"
)

// PollOptions describe a `pipelined poll`.
type PollOptions struct {
	Config, Workdir string
	Project         string // "" for every remote
	Watch           string // the pipeline-watch program, for a pass without a daemon
}

// Poll asks for the remotes (every one, or the project's) to be polled now, whatever the
// interval: a running daemon is sent SIGUSR1 with a request file naming the project, and
// runs a pass; without a daemon, one pass of pipeline-watch --once runs here, its report
// on w, and the jobs it writes wait in the spool.
func Poll(ctx context.Context, w io.Writer, o PollOptions) error {
	cfg, err := config.Load(o.Config)
	if err != nil {
		return err
	}
	if o.Project != "" {
		p := cfg.Project(o.Project)
		switch {
		case p == nil:
			return exitcode.Usagef("project %q is not in %s", o.Project, o.Config)
		case !p.Enabled || !p.Watch:
			return exitcode.Usagef("project %q is not watched (enabled or watch is False in %s, line %d)", o.Project, o.Config, p.Line)
		}
	}
	layout, err := openWorkdir(o.Workdir)
	if err != nil {
		return err
	}
	if pid, running := spool.DaemonPID(layout.DaemonLock()); running && pid > 0 {
		if o.Project != "" {
			dir := layout.PollRequests()
			if err := os.MkdirAll(dir, 0o777); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, o.Project), nil, 0o666); err != nil {
				return err
			}
		}
		if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
			return fmt.Errorf("signaling pipelined (pid %d): %w", pid, err)
		}
		fmt.Fprintf(w, "asked pipelined (pid %d) to poll %s now\n", pid, what(o.Project))
		return nil
	}
	fmt.Fprintf(w, "no daemon runs on %s: polling %s once here; new jobs wait in the spool for the daemon\n\n", layout.Root, what(o.Project))
	argv := []string{o.Watch, "--config", o.Config, "--workdir", o.Workdir, "--once"}
	if o.Project != "" {
		argv = append(argv, "--project", o.Project)
	}
	res, err := procexec.Run(ctx, procexec.Cmd{Argv: argv, Env: os.Environ(), Output: w})
	var exit *procexec.ExitError
	if errors.As(err, &exit) && exit.Signal == 0 {
		// The report and the log have said what; the exit status tells cron and scripts.
		return &exitcode.SilentError{Code: exit.Code}
	}
	if err != nil {
		return fmt.Errorf("running %s: %w", o.Watch, err)
	}
	_ = res
	return nil
}

func what(project string) string {
	if project == "" {
		return "every remote"
	}
	return "the remote of " + project
}
