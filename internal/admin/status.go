package admin

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// recentPerProject is how many finished builds Status lists for each project.
const recentPerProject = 5

// Status writes what `pipelined status` shows, read from the spool and the work directory
// alone, so it works whether the daemon runs or not: the queued jobs in order, the running
// builds with their elapsed time, and each project's latest builds.
func Status(w io.Writer, workdirPath string) error {
	layout, err := workdir.New(workdirPath)
	if err != nil {
		return err
	}
	sp, err := spool.Open(layout.SpoolDir())
	if err != nil {
		return err
	}
	builds, err := statuses(layout)
	if err != nil {
		return err
	}
	now := time.Now()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if pid, running := spool.DaemonPID(layout.DaemonLock()); running {
		fmt.Fprintf(tw, "DAEMON running, pid %d\n\n", pid)
	} else {
		fmt.Fprintf(tw, "DAEMON not running: queued jobs wait for it\n\n")
	}

	queued, _ := sp.List(spool.New)
	fmt.Fprintf(tw, "QUEUED (%d)\n", len(queued))
	for _, e := range queued {
		j, err := sp.Read(spool.New, e.Name)
		if err != nil {
			fmt.Fprintf(tw, "  %s\t(not a valid job: %v; the daemon moves it to bad/)\n", quoted(e.Name), err)
			continue
		}
		state := "waiting " + since(now, e.ModTime)
		if n := len(j.Attempts); n > 0 {
			state = fmt.Sprintf("attempt %d of %d failed (%s); next at %s", n, spool.MaxAttempts,
				j.Attempts[n-1].Reason, spool.RetryAt(j).Local().Format(time.TimeOnly))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", j.Project, quoted(j.Ref), orAny(workdir.ShortCommit(j.Commit)),
			j.Source, state, quoted(e.Name))
	}

	claimed, _ := sp.List(spool.Cur)
	fmt.Fprintf(tw, "\nRUNNING (%d)\n", len(claimed))
	for _, e := range claimed {
		j, err := sp.Read(spool.Cur, e.Name)
		if err != nil {
			continue
		}
		state, dir := "ended: the daemon settles it", ""
		if spool.Locked(sp.Path(spool.Cur, e.Name)) {
			state = "running"
			for _, b := range builds {
				if b.st.Job == e.Name {
					state, dir = "running "+since(now, b.st.Started), b.dir
				}
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", j.Project, quoted(j.Ref), orAny(workdir.ShortCommit(j.Commit)), state, dir)
	}

	fmt.Fprintf(tw, "\nRECENT\n")
	byProject := map[string][]statusOf{}
	var projects []string
	for _, b := range builds {
		if b.st.Result == buildlog.Running {
			continue
		}
		if byProject[b.st.Project] == nil {
			projects = append(projects, b.st.Project)
		}
		byProject[b.st.Project] = append(byProject[b.st.Project], b)
	}
	sort.Strings(projects)
	for _, p := range projects {
		list := byProject[p]
		sort.Slice(list, func(i, j int) bool { return list[i].st.Started.After(list[j].st.Started) })
		for i, b := range list {
			if i == recentPerProject {
				break
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s ago\t%s\t%s\n", p, b.st.Ref, b.st.ShortCommit, b.st.Result,
				since(now, b.st.Finished), (time.Duration(b.st.Seconds * float64(time.Second))).Round(time.Second), b.dir)
		}
	}
	return tw.Flush()
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
