package admin

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/config"
	"pipelined/internal/engine"
	"pipelined/internal/forge"
	"pipelined/internal/outcome"
	"pipelined/internal/safeopen"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// Status writes what `pipelined status` shows, read from the spool and the work directory
// alone, so it works whether the daemon runs or not: whether the daemon runs, the queued
// jobs in order, the running builds with their elapsed time, and each ref's state (writeRefs).
// With a configuration (configPath not ""), each ref with keep_builds or keep_days also
// says what retention removes now or next.
func Status(w io.Writer, workdirPath, configPath string) error {
	var cfg *config.Config
	if configPath != "" {
		var err error
		if cfg, err = config.Load(configPath); err != nil {
			return err
		}
	}
	layout, jobs, err := openSpool(workdirPath)
	if err != nil {
		return err
	}
	builds, err := statuses(layout)
	if err != nil {
		return err
	}
	now := time.Now()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	engines := writeDaemon(tw, layout, now)
	writeQueued(tw, jobs, cfg, engines, now)
	writeRunning(tw, jobs.Spool(), builds, now)
	writeForge(tw, layout, now)
	fmt.Fprintf(tw, "\nREFS (each ref's state: its newest build that succeeded or failed)\n")
	writeRefs(tw, layout, cfg, now)
	return tw.Flush()
}

// writeDaemon says whether the daemon runs, and if it does, its engines, which it returns.
func writeDaemon(w io.Writer, layout workdir.Layout, now time.Time) []engine.State {
	pid, running := spool.DaemonPID(layout.DaemonLock())
	if !running {
		fmt.Fprintf(w, "DAEMON not running: queued jobs wait for it\n\n")
		return nil
	}
	fmt.Fprintf(w, "DAEMON running, pid %d\n\n", pid)
	engines := readEngines(layout)
	writeEngines(w, engines, now)
	return engines
}

// writeQueued lists the queued jobs in the order they run, each with what it waits for.
func writeQueued(w io.Writer, jobs *outcome.Jobs, cfg *config.Config, engines []engine.State, now time.Time) {
	queued, _ := jobs.Spool().List(spool.New)
	fmt.Fprintf(w, "QUEUED (%d)\n", len(queued))
	for _, e := range queued {
		j, err := jobs.Read(spool.New, e.Name)
		if err != nil {
			fmt.Fprintf(w, "  %s\t(not a valid job: %v; the daemon moves it to bad/)\n", quoted(e.Name), err)
			continue
		}
		state := "waiting " + since(now, e.ModTime)
		if why := unservedEngines(cfg, engines, j.Project); why != "" {
			state += "; " + why
		}
		if n := len(j.Attempts); n > 0 {
			state = fmt.Sprintf("attempt %d of %d failed (%s); next at %s", n, outcome.MaxAttempts,
				j.Attempts[n-1].Reason, outcome.RetryAt(j.Attempts).Local().Format(time.TimeOnly))
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\t%s\n", j.Project, quoted(j.Ref), orAny(workdir.ShortCommit(j.Commit)),
			j.Source, state, quoted(e.Name))
	}
}

// writeRunning lists the claimed jobs, each with what started it, how long its build has
// run and where.
func writeRunning(w io.Writer, sp *spool.Spool, builds []statusOf, now time.Time) {
	claimed, _ := sp.List(spool.Cur)
	fmt.Fprintf(w, "\nRUNNING (%d)\n", len(claimed))
	for _, e := range claimed {
		j, err := sp.Read(spool.Cur, e.Name)
		if err != nil {
			continue
		}
		state, dir := "ended: the daemon settles it", ""
		if spool.Locked(sp.Path(spool.Cur, e.Name)) {
			state = "running"
			var started time.Time // a retried job has a build directory per attempt: the latest is running
			for _, b := range builds {
				if b.st.Job == e.Name && !b.st.Started.Before(started) {
					started, state, dir = b.st.Started, "running "+since(now, b.st.Started), b.dir
				}
			}
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\t%s\n", j.Project, quoted(j.Ref), orAny(workdir.ShortCommit(j.Commit)), j.Source, state, dir)
	}
}

// writeForge lists the statuses waiting to be delivered to the forge, if any: a work
// directory without a forge shows nothing more.
func writeForge(w io.Writer, layout workdir.Layout, now time.Time) {
	waiting, setAside, err := forge.Waiting(layout.OutboxDir())
	if err != nil {
		fmt.Fprintf(w, "\nFORGE STATUSES (cannot read the outbox: %v)\n", err)
		return
	}
	if len(waiting) == 0 && setAside == 0 {
		return
	}
	fmt.Fprintf(w, "\nFORGE STATUSES WAITING (%d)\n", len(waiting))
	for _, r := range waiting {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\t%s\n", r.Project, quoted(r.Ref), workdir.ShortCommit(r.Commit), r.State,
			"since "+since(now, r.At), quoted(forge.Cut(r.Description, 80)))
	}
	if setAside > 0 {
		fmt.Fprintf(w, "  %d not delivered and set aside in %s, each with a .reason file\n", setAside, filepath.Join(layout.OutboxDir(), "bad"))
	}
}

type statusOf struct {
	dir string
	st  *buildlog.Status
}

func statuses(layout workdir.Layout) ([]statusOf, error) {
	builds, err := layout.Builds()
	if err != nil {
		return nil, nil // no work directory yet: nothing to show
	}
	var out []statusOf
	for _, b := range builds {
		if st, err := buildlog.LoadStatus(workdir.StatusPath(b.Dir)); err == nil {
			out = append(out, statusOf{b.Dir, st})
		}
	}
	return out, nil
}

func since(now, t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return now.Sub(t).Round(time.Second).String()
}

func orAny(short string) string {
	if short == "" {
		return "(latest)"
	}
	return short
}

// quoted is s, or s quoted when it holds anything that could break a line of the listing.
func quoted(s string) string {
	for _, r := range s {
		if r < ' ' || r == 0x7f || r == '"' || r == '\t' {
			return strconv.Quote(s)
		}
	}
	return s
}

// writeEngines writes the Docker engines of a running daemon, as it last published them:
// whether each answers, and its slots in use.
func writeEngines(w io.Writer, states []engine.State, now time.Time) {
	if len(states) == 0 {
		return
	}
	fmt.Fprintf(w, "ENGINES (%d)\n", len(states))
	for _, st := range states {
		host := st.Host
		if host == "" {
			host = "(the environment's Docker)"
		}
		state := "up since " + since(now, st.Since)
		if !st.Up {
			state = "DOWN since " + since(now, st.Since) + ": " + st.Error
		}
		fmt.Fprintf(w, "  %s\t%s\t%d of %d slots in use\t%s\n", st.Name, host, st.InUse, st.Slots, state)
	}
	fmt.Fprintln(w)
}

// maxEnginesState bounds engines.json: a few lines per engine.
const maxEnginesState = 1 << 20

// readEngines reads the engines the running daemon publishes (.pipelined/engines.json).
func readEngines(layout workdir.Layout) []engine.State {
	data, err := safeopen.ReadFile(layout.EnginesState(), maxEnginesState)
	if err != nil {
		return nil
	}
	var states []engine.State
	if json.Unmarshal(data, &states) != nil {
		return nil
	}
	return states
}

// unservedEngines says why a project's jobs cannot start while the daemon runs with the
// given engines: it builds images and is pinned to engines none of which the daemon has.
func unservedEngines(cfg *config.Config, engines []engine.State, project string) string {
	if cfg == nil || len(engines) == 0 {
		return ""
	}
	p := cfg.Project(project)
	if p == nil || !p.Build || len(p.EngineNames()) == 0 {
		return ""
	}
	for _, name := range p.EngineNames() {
		for _, e := range engines {
			if e.Name == name {
				return ""
			}
		}
	}
	return fmt.Sprintf("it waits for an engine named %s, and the daemon has none of them (--engine)", strings.Join(p.EngineNames(), " or "))
}
