package admin

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/recorded"
	"pipelined/internal/retention"
	"pipelined/internal/workdir"
)

// writeRefs writes a line per ref: the result, commit, age, duration and directory of the
// build that gives it its state (its newest decisive build: a canceled or superseded
// rebuild does not hide a success or a failure), how many builds it has and, with a
// configuration that sets keep_builds or keep_days, what retention removes now or would
// remove after the ref's next build. A newer build that does not decide the state is
// named under it, and so are a failure's last lines of output. A ref only recorded at the
// project's first poll (build_existing = False) says so.
func writeRefs(w io.Writer, layout workdir.Layout, cfg *config.Config, now time.Time) {
	projects, _ := filepath.Glob(filepath.Join(layout.Root, "*"))
	for _, projectDir := range projects {
		project := filepath.Base(projectDir)
		if !workdir.ValidProjectName(project) || project == config.BadgesDirName {
			continue
		}
		var policy retention.Policy
		if cfg != nil {
			if p := cfg.Project(project); p != nil {
				policy = retention.Policy{KeepBuilds: int(p.KeepBuilds), KeepDays: int(p.KeepDays)}
			}
		}
		refs, _ := filepath.Glob(filepath.Join(projectDir, "*"))
		for _, refDir := range refs {
			writeRef(w, project, refDir, policy, now)
		}
	}
}

// writeRef writes the lines of one ref for writeRefs.
func writeRef(w io.Writer, project, refDir string, policy retention.Policy, now time.Time) {
	// Only a retention policy needs every build read; the listing needs the state.
	recent, count, state, ok := retention.ReadState(refDir, 1)
	var all []retention.Build
	if policy.Set() {
		all = retention.Read(refDir)
		count = len(all)
	}
	if !ok {
		writeRecorded(w, project, refDir, now)
		return
	}
	ref, result, short, age, took := filepath.Base(refDir), "unknown", "?", "?", "?"
	if st := state.Status; st != nil {
		ref, result, short = st.Ref, st.Result, st.ShortCommit
		if !st.Finished.IsZero() {
			age = since(now, st.Finished) + " ago"
			took = (time.Duration(st.Seconds * float64(time.Second))).Round(time.Second).String()
		} else {
			age = "started " + since(now, st.Started) + " ago"
		}
	}
	fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%d builds%s\n", project, quoted(ref), result, short, age, took,
		state.Dir, count, retentionNote(all, policy, now))
	if newest := recent[0]; newest.Dir != state.Dir && newest.Status != nil {
		note := fmt.Sprintf("newer: %s %s", newest.Status.Result, newest.Status.ShortCommit)
		if newest.Status.Reason != "" {
			note += " (" + newest.Status.Reason + ")"
		}
		fmt.Fprintf(w, "      %s\n", printableLine(note))
	}
	if st := state.Status; st != nil && st.Result == "failed" {
		for _, line := range st.FailedOutput {
			fmt.Fprintf(w, "      | %s\n", printableLine(line))
		}
	}
}

// writeRecorded writes the line of a ref whose commit was recorded without a build.
func writeRecorded(w io.Writer, project, refDir string, now time.Time) {
	recs := recorded.List(refDir)
	if len(recs) == 0 {
		return
	}
	r := recs[0]
	fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", project, quoted(r.Ref), "recorded", workdir.ShortCommit(r.Commit),
		since(now, r.Recorded)+" ago", "-", "not built", "existed at the first poll (build_existing = False)")
}

// retentionNote says what retention removes now, or next.
func retentionNote(builds []retention.Build, p retention.Policy, now time.Time) string {
	if !p.Set() {
		return ""
	}
	if due := retention.Plan(builds, p, now); len(due) > 0 {
		return fmt.Sprintf("; retention removes %d now, first %s (%s)", len(due), filepath.Base(due[0].Dir), due[0].Reason)
	}
	if next, ok := retention.Next(builds, p, now); ok {
		return "; next to go: " + filepath.Base(next.Dir)
	}
	return "; retention removes nothing yet"
}

// printableLine is a line of a build's output as a terminal listing may show it: tabs as
// spaces, and control characters (an escape sequence a build printed) as U+FFFD.
func printableLine(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t':
			return ' '
		case r < ' ' || r == 0x7f || r >= 0x80 && r <= 0x9f:
			return '\uFFFD'
		}
		return r
	}, s)
}
