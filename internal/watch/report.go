package watch

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode"

	"pipelined/internal/config"
	"pipelined/internal/git"
	"pipelined/internal/polling"
	"pipelined/internal/workdir"
)

// Report is what one pass of the watcher did (pipeline-watch --once), for the operator who
// reads cron's mail: per project its matching refs and what became of each, each remote's
// error, and the configuration's warnings. It is filled in by the same code that makes the
// decisions (poll), so it cannot tell a different story from what was done. A nil *Report
// collects nothing; the methods are safe for the polls' goroutines.
//
// The text (see WriteTo) is stable: projects in the order of the configuration, refs sorted
// by name, one line per decision, each starting with a fixed word.
type Report struct {
	mu       sync.Mutex
	warnings []string
	projects []*projectReport // in the order of the configuration
	byName   map[string]*projectReport
}

// projectReport is one project's part of a Report.
type projectReport struct {
	name      string
	remote    string // masked
	notPolled string // why it was not polled; "" when it was
	answered  bool   // its remote listed its refs
	err       string // its remote's error (or its environment's), masked
	refs      int    // refs the remote listed
	ignored   []string
	decisions []decision
}

// decision is what became of one matching ref.
type decision struct {
	action string // actionQueued, actionSkipped, actionRecorded or actionError
	ref    string
	commit string
	detail string
}

// The first word of a decision's line.
const (
	actionQueued  = "queued"
	actionSkipped = "skipped"
	actionError   = "error"
	// actionRecorded: the first poll with build_existing = False recorded it, not built.
	actionRecorded = "recorded"
)

// NewReport returns an empty report, for Options.Report.
func NewReport() *Report { return &Report{byName: map[string]*projectReport{}} }

// begin records the configuration of the pass: its warnings, and every project that the
// pass is about (only, when set, restricts it), with the reason why it is not polled.
func (rep *Report) begin(cfg *config.Config, only []string) {
	if rep == nil {
		return
	}
	rep.mu.Lock()
	defer rep.mu.Unlock()
	for _, w := range cfg.Warnings {
		rep.warnings = append(rep.warnings, w.Error())
	}
	for _, p := range cfg.Projects {
		if len(only) > 0 && !slices.Contains(only, p.Name) {
			continue
		}
		pr := &projectReport{name: p.Name, remote: git.MaskURL(p.Remote), notPolled: polling.NotPolled(p)}
		rep.projects = append(rep.projects, pr)
		rep.byName[p.Name] = pr
	}
}

// failed records the error of a remote for each of its projects.
func (rep *Report) failed(r *remote, err error) {
	if rep == nil {
		return
	}
	rep.mu.Lock()
	defer rep.mu.Unlock()
	for _, p := range r.projects {
		if pr := rep.byName[p.Name]; pr != nil {
			pr.err = git.MaskURLsIn(err.Error(), r.url)
		}
	}
}

// listed records that a remote answered with n refs, and the refs of it that were ignored.
func (rep *Report) listed(r *remote, n int, problems []string) {
	if rep == nil {
		return
	}
	rep.mu.Lock()
	defer rep.mu.Unlock()
	for _, p := range r.projects {
		if pr := rep.byName[p.Name]; pr != nil {
			pr.answered, pr.refs = true, n
			for _, msg := range problems {
				pr.ignored = append(pr.ignored, git.MaskURLsIn(msg, r.url))
			}
		}
	}
}

// decide records what became of a ref that the project builds.
func (rep *Report) decide(p *config.Project, ref git.Ref, action, detail string) {
	if rep == nil {
		return
	}
	rep.mu.Lock()
	defer rep.mu.Unlock()
	if pr := rep.byName[p.Name]; pr != nil {
		pr.decisions = append(pr.decisions, decision{action: action, ref: ref.Name, commit: ref.Commit, detail: detail})
	}
}

// Failed reports whether something went wrong: a remote that could not be listed, or a job
// that could not be written. pipeline-watch --once then exits 1, so that cron mails it.
func (rep *Report) Failed() bool {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	for _, pr := range rep.projects {
		if pr.err != "" {
			return true
		}
		for _, d := range pr.decisions {
			if d.action == actionError {
				return true
			}
		}
	}
	return false
}

// WriteTo writes the report as text:
//
//	warning: /etc/pipelined.ini:12: [web] tag: "v.*" looks like a regex, …
//	[app] /srv/git/app.git: 7 refs, 4 match
//	  skipped  refs/heads/dev 89abcdef: already built in /var/pipelined/app/refs%2Fheads%2Fdev/89abcdef
//	  queued   refs/heads/main 0123abcd: job 01718000000000000001.4242.1a2b3c4d.job
//	  skipped  refs/tags/v1.0 fedcba98: already queued as job 01717999999000000001.4242.5e6f7a8b.job
//	  error    refs/tags/v1.1 76543210: cannot write the job: …
//	  ignored  unexpected ls-remote line "…"
//	[lib] https://***@git.example.com/lib.git: failed
//	  error    git ls-remote https://***@git.example.com/lib.git: fatal: … (git exited with status 128)
//	[docs] not polled: watch = False
//	total: 1 queued, 2 skipped, 1 not written; 2 remotes asked, 1 failed
//
// A remote shared by several projects is counted once in the total.
func (rep *Report) WriteTo(w io.Writer) (int64, error) {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	var b strings.Builder
	for _, warning := range rep.warnings {
		fmt.Fprintf(&b, "warning: %s\n", printable(warning))
	}
	var queued, skipped, notWritten int
	asked, failed := map[string]bool{}, map[string]bool{}
	for _, pr := range rep.projects {
		switch {
		case pr.notPolled != "":
			fmt.Fprintf(&b, "[%s] not polled: %s\n", pr.name, pr.notPolled)
			continue
		case pr.err != "":
			fmt.Fprintf(&b, "[%s] %s: failed\n", pr.name, printable(pr.remote))
			fmt.Fprintf(&b, "  %-8s %s\n", actionError, printable(pr.err))
			asked[pr.remote], failed[pr.remote] = true, true
			continue
		case !pr.answered:
			// Only when the pass was stopped; a stopped pass is not reported, but say so
			// rather than nothing.
			fmt.Fprintf(&b, "[%s] %s: not asked\n", pr.name, printable(pr.remote))
			continue
		}
		asked[pr.remote] = true
		match := fmt.Sprint(len(pr.decisions), " match")
		if len(pr.decisions) == 0 {
			match = "none matches branches or tags"
		}
		refs := plural(pr.refs, "ref")
		if len(pr.ignored) > 0 {
			// Ignored refs (names the build could not use) are refs the remote has too.
			refs = fmt.Sprintf("%s (%d ignored)", plural(pr.refs+len(pr.ignored), "ref"), len(pr.ignored))
		}
		fmt.Fprintf(&b, "[%s] %s: %s, %s\n", pr.name, printable(pr.remote), refs, match)
		slices.SortFunc(pr.decisions, func(a, b decision) int { return strings.Compare(a.ref, b.ref) })
		for _, d := range pr.decisions {
			fmt.Fprintf(&b, "  %-8s %s %s: %s\n", d.action, printable(d.ref), workdir.ShortCommit(d.commit), printable(d.detail))
			switch d.action {
			case actionQueued:
				queued++
			case actionSkipped, actionRecorded:
				skipped++
			default:
				notWritten++
			}
		}
		for _, msg := range pr.ignored {
			fmt.Fprintf(&b, "  %-8s %s\n", "ignored", printable(msg))
		}
	}
	fmt.Fprintf(&b, "total: %d queued, %d skipped, %d not written; %s asked, %d failed\n",
		queued, skipped, notWritten, plural(len(asked), "remote"), len(failed))
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprint(n, " ", noun, "s")
}

// printable escapes the control characters of a text that comes from elsewhere (git's and a
// server's words, ref names): a report that cron mails must not carry terminal escapes or
// forged lines. Format characters go too (a right-to-left override makes
// "evil\u202egnp.exe" read as "evilexe.png"): whatever is not a graphic character or a
// space is written as \x.. or \u.....
func printable(s string) string {
	hidden := func(r rune) bool { return r != ' ' && !unicode.IsGraphic(r) }
	if !strings.ContainsFunc(s, hidden) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !hidden(r):
			b.WriteRune(r)
		case r < 0x80:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			fmt.Fprintf(&b, "\\u%04x", r)
		}
	}
	return b.String()
}
