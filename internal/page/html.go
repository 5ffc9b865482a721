package page

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"pipelined/internal/config"
)

// The pages are written by plain Go rather than html/template: the template engine's use
// of reflection keeps every exported method of every type in the binary, which made
// pipelined a third larger (8.8 MB against 6.6) and the idle daemon's resident memory
// 1.8 MiB larger. Every value from a build record, a ref or a job goes through
// writer.text, which escapes it as html/template would.

// escaper escapes text and attribute values as html/template does, and also replaces with
// U+FFFD the characters a commit subject or ref may carry that a page should not show:
// control characters (an escape, a bell) and the bidirectional overrides and isolates,
// which could make a name read as another.
var escaper = strings.NewReplacer(func() []string {
	pairs := []string{"&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;"}
	hidden := func(c rune) bool {
		return c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c >= 0x7f && c <= 0x9f ||
			c >= 0x202a && c <= 0x202e || c >= 0x2066 && c <= 0x2069
	}
	for c := rune(0); c <= 0x2069; c++ {
		if hidden(c) {
			pairs = append(pairs, string(c), "\uFFFD")
		}
	}
	return pairs
}()...)

// colours of the results; each result is also written as a word, so that the page reads
// the same without colour.
var colours = map[string]string{
	"success":  "#2e7d32",
	"failed":   "#c62828",
	"canceled": "#6d4c41",
	"skipped":  "#757575",
	"running":  "#1565c0",
	"unknown":  "#757575",
	"recorded": "#9e9e9e",
}

func colour(result string) string {
	if c, ok := colours[result]; ok {
		return c
	}
	return colours["unknown"]
}

const style = `<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font-family: system-ui, sans-serif; margin: 1em; line-height: 1.4; color: #212121; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.5em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3em .5em; border-bottom: 1px solid #ddd; vertical-align: top; }
.result { color: #fff; padding: .1em .45em; border-radius: .3em; font-weight: bold; white-space: nowrap; }
.reason, .small { color: #555; font-size: .9em; }
code { font-size: .95em; }
pre.out { background: #f5f5f5; border-left: .25em solid #c62828; padding: .4em .6em; overflow-x: auto; font-size: .85em; margin: .3em 0; white-space: pre-wrap; }
pre#log { background: #212121; color: #eee; padding: .6em; overflow-x: auto; font-size: .85em; white-space: pre-wrap; }
.ago { color: #555; font-size: .9em; }
@media (max-width: 40em) { th.opt, td.opt { display: none; } }
</style>`

// writer builds one page. prefix leads every link to the work directory ("" for the work
// directory's own page, "../" for a project's).
type writer struct {
	bytes.Buffer
	prefix string
}

// raw writes markup as it is; text writes a value escaped.
func (w *writer) raw(s ...string) {
	for _, x := range s {
		w.WriteString(x)
	}
}

func (w *writer) text(s string) { escaper.WriteString(&w.Buffer, s) }

// link writes <a href="…">label</a>, to a path relative to the work directory.
func (w *writer) link(label, rel string, more ...string) {
	w.raw(`<a href="`)
	w.text(href(w.prefix, rel, more...))
	w.raw(`">`)
	w.text(label)
	w.raw("</a>")
}

// refreshSeconds is how often a page with a running build reloads itself (a meta
// refresh: it works without script, and a page written when nothing runs has none, so the
// reloading stops by itself).
const refreshSeconds = 5

// head starts a page; running makes it refresh itself.
func (w *writer) head(title string, running bool) {
	w.raw("<!DOCTYPE html>\n<html lang=\"en\"><head>", style, "\n")
	if running {
		w.raw(`<meta http-equiv="refresh" content="`, strconv.Itoa(refreshSeconds), `">`, "\n")
	}
	w.raw("<title>pipelined: ")
	w.text(title)
	w.raw("</title></head><body>\n")
}

// end ends a page, with the script that adds what only the reader's clock knows.
func (w *writer) end() { w.raw("\n<script>", script, "</script>\n</body></html>\n") }

// indexPage is WORKDIR/index.html: each ref's state, failing refs first.
func indexPage(s *site) []byte {
	w := &writer{}
	w.head("builds", len(s.Running) > 0)
	w.raw("<h1>Builds</h1>\n", `<p class="small">Generated `, when(s.Generated),
		" by pipelined. Each ref's state: its newest build that succeeded or failed; a project's page lists its other builds.</p>\n")
	if len(s.Failing) > 0 {
		w.raw("<h2>Failing now (", strconv.Itoa(len(s.Failing)), ")</h2>\n<ul>")
		for _, b := range s.Failing {
			w.raw("<li>")
			w.buildLink(b.Project+" "+name(b.Ref), b)
			w.raw(" at <code>")
			w.text(b.Short)
			w.raw("</code>: ")
			w.text(short(b.Reason, 200))
			w.output(b.Output)
			w.raw("</li>\n")
		}
		w.raw("</ul>\n")
	} else {
		w.raw("<p><strong>No ref is failing.</strong></p>\n")
	}
	for _, p := range s.Projects {
		w.raw("\n<h2>")
		w.link(p.Name, p.Name, config.StatusPageName)
		w.raw("</h2>\n", `<table><tr><th>ref</th><th>result</th><th>commit</th><th class="opt">finished</th><th class="opt">took</th><th>links</th></tr>`, "\n")
		for _, r := range p.Refs {
			w.raw("<tr><td>")
			w.text(name(r.Ref))
			w.raw("</td>")
			w.buildCells(r.State, r.Newer)
			w.raw("</tr>\n")
		}
		w.raw("</table>\n")
	}
	if len(s.Projects) == 0 {
		w.raw("<p>No build yet.</p>")
	}
	w.raw("\n")
	w.queue(s)
	w.end()
	return w.Bytes()
}

// projectPage is WORKDIR/PROJECT/index.html: each ref's badge and recent builds.
func projectPage(s *site) []byte {
	w := &writer{prefix: "../"}
	p := s.Projects[0]
	w.head(p.Name, len(s.Running) > 0)
	w.raw(`<p><a href="../index.html">All projects</a></p>`, "\n\n<h1>")
	w.text(p.Name)
	w.raw("</h1>\n", `<p class="small">Generated `, when(s.Generated), " by pipelined.</p>\n")
	for _, r := range p.Refs {
		w.raw("\n<h2>")
		w.text(name(r.Ref))
		w.raw(` <img src="`)
		w.text(href(w.prefix, BadgePath(p.Name, r.Ref)))
		w.raw(`" alt="`)
		w.text(r.State.Result)
		w.raw(`" height="20"></h2>`, "\n")
		w.raw(`<table><tr><th>result</th><th>commit</th><th class="opt">finished</th><th class="opt">took</th><th>links</th></tr>`, "\n")
		builds := r.Recent
		if len(builds) == 0 {
			builds = []build{r.State} // recorded without a build
		}
		for _, b := range builds {
			w.raw("<tr>")
			w.buildCells(b, nil)
			w.raw("</tr>\n")
		}
		w.raw("</table>\n")
	}
	w.raw("\n")
	w.queue(s)
	w.end()
	return w.Bytes()
}

// buildCells writes a build's cells: result (a word on a colour) and reason, commit and
// subject and what started the build, when it finished, how long it took, and its links.
// newer, if not nil, is a newer build of the ref that did not decide its state.
func (w *writer) buildCells(b build, newer *build) {
	w.raw("<td>")
	w.result(b.Result)
	if b.Reason != "" {
		w.raw(`<br><span class="reason">`)
		w.text(short(b.Reason, 200))
		w.raw("</span>")
	}
	if newer != nil {
		w.raw(`<br><span class="small">newer: `)
		w.buildLink(newer.Result+" "+newer.Short, *newer)
		if newer.Reason != "" {
			w.raw(" (")
			w.text(short(newer.Reason, 120))
			w.raw(")")
		}
		w.raw("</span>")
	}
	w.raw("</td>\n<td>")
	w.commit(b)
	w.raw("</td>\n", `<td class="opt">`)
	switch {
	case b.Result == "recorded":
		w.raw("recorded ", when(b.Finished), "</td>\n", `<td class="opt">—</td>`, "\n")
	case b.Finished.IsZero():
		w.raw("started ", when(b.Started), "</td>\n", `<td class="opt">—</td>`, "\n")
	default:
		w.raw(when(b.Finished), "</td>\n", `<td class="opt">`, b.Duration.String(), "</td>\n")
	}
	w.raw("<td>")
	w.buildLinks(b)
	w.raw("</td>")
}

// buildLinks writes the links of a build: its page, log, record and artifacts.
func (w *writer) buildLinks(b build) {
	if b.Page {
		w.link("page", b.Dir, config.StatusPageName)
		w.raw("\n")
	}
	if b.HasLog {
		w.link("log", b.Dir, "build.log")
		w.raw("\n")
	}
	if b.HasJSON {
		w.link("status", b.Dir, "build.json")
		w.raw("\n")
	}
	if b.Drop {
		w.raw(`<a href="`)
		w.text(href(w.prefix, b.Dir, "drop"))
		w.raw(`/">artifacts</a>`)
	}
}

// buildLink links a build's page, or its log when it has none.
func (w *writer) buildLink(label string, b build) {
	switch {
	case b.Page:
		w.link(label, b.Dir, config.StatusPageName)
	case b.HasLog:
		w.link(label, b.Dir, "build.log")
	default:
		w.text(label)
	}
}

func (w *writer) result(result string) {
	w.raw(`<span class="result" style="background:`, colour(result), `">`)
	w.text(result)
	w.raw("</span>")
}

// output writes a failure's last lines of output.
func (w *writer) output(lines []string) {
	if len(lines) == 0 {
		return
	}
	w.raw(`<pre class="out">`)
	w.text(strings.Join(lines, "\n"))
	w.raw("</pre>")
}

// commit writes a short commit (linked when the build has commit_url), its subject and
// what started the build.
func (w *writer) commit(b build) {
	if link := b.CommitURL; strings.HasPrefix(link, "https://") || strings.HasPrefix(link, "http://") {
		w.raw(`<a href="`)
		w.text(link)
		w.raw(`"><code>`)
		w.text(b.Short)
		w.raw("</code></a>")
	} else {
		w.raw("<code>")
		w.text(b.Short)
		w.raw("</code>")
	}
	if b.Subject != "" {
		w.raw(" ")
		w.text(short(b.Subject, 80))
	}
	if b.Source != "" {
		w.raw(`<br><span class="small">by `)
		w.text(b.Source)
		w.raw("</span>")
	}
}

// queue writes the builds running and the jobs queued.
func (w *writer) queue(s *site) {
	w.raw("\n<h2>Running (", strconv.Itoa(len(s.Running)), ")</h2>\n")
	if len(s.Running) > 0 {
		w.raw(`<table><tr><th>project</th><th>ref</th><th>commit</th><th class="opt">started</th><th>links</th></tr>`, "\n")
		for _, b := range s.Running {
			w.raw("<tr><td>")
			w.text(b.Project)
			w.raw("</td><td>")
			w.text(name(b.Ref))
			w.raw("</td><td>")
			w.commit(b)
			w.raw(`</td><td class="opt">`, when(b.Started), "</td>\n<td>")
			w.buildLinks(b)
			w.raw("</td></tr>\n")
		}
		w.raw("</table>")
	} else {
		w.raw("<p>No build is running.</p>")
	}
	w.queued(s.Queued)
}

// queued writes the jobs queued.
func (w *writer) queued(jobs []queuedJob) {
	w.raw("\n<h2>Queued (", strconv.Itoa(len(jobs)), ")</h2>\n")
	if len(jobs) == 0 {
		w.raw("<p>Nothing is queued.</p>")
		return
	}
	w.raw(`<table><tr><th>project</th><th>ref</th><th>commit</th><th class="opt">queued</th><th class="opt">by</th></tr>`, "\n")
	for _, q := range jobs {
		w.raw("<tr><td>")
		w.text(q.Project)
		w.raw("</td><td>")
		w.text(name(q.Ref))
		if q.Note != "" {
			w.raw(`<br><span class="reason">`)
			w.text(short(q.Note, 200))
			w.raw("</span>")
		}
		w.raw("</td><td><code>")
		w.text(q.Short)
		w.raw(`</code></td><td class="opt">`, when(q.Since), `</td><td class="opt">`)
		w.text(q.Source)
		w.raw("</td></tr>\n")
	}
	w.raw("</table>")
}

// when is a time as the pages show it: absolute, in UTC, in a <time> element whose
// datetime the script turns into a relative hint ("5 min ago") when the page is shown — a
// hint written here would be wrong by the time anyone reads it.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	t = t.UTC()
	return `<time datetime="` + t.Format(time.RFC3339) + `">` + t.Format("2006-01-02 15:04 UTC") + "</time>"
}

// short cuts s to n characters.
func short(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// name is a ref without refs/heads/ or refs/tags/.
func name(ref string) string {
	for _, p := range []string{"refs/heads/", "refs/tags/"} {
		if strings.HasPrefix(ref, p) {
			return strings.TrimPrefix(ref, p)
		}
	}
	return ref
}
