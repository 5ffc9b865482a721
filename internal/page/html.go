package page

import (
	"bytes"
	"fmt"
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
@media (max-width: 40em) { th.opt, td.opt { display: none; } }
</style>`

// writer builds one page. prefix leads every link to the work directory ("" for the work
// directory's own page, "../" for a project's).
type writer struct {
	bytes.Buffer
	prefix string
	now    time.Time
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

// indexPage is WORKDIR/index.html: each ref's latest build, failing refs first.
func indexPage(s *site) []byte {
	w := &writer{now: s.Generated}
	w.raw("<!DOCTYPE html>\n<html lang=\"en\"><head>", style, "\n<title>pipelined: builds</title></head><body>\n<h1>Builds</h1>\n")
	w.raw(`<p class="small">Generated `, when(s.Generated), " by pipelined. Each ref's latest build; a project's page lists its older builds.</p>\n")
	if len(s.Failing) > 0 {
		w.raw("<h2>Failing now (", strconv.Itoa(len(s.Failing)), ")</h2>\n<ul>")
		for _, b := range s.Failing {
			w.raw("<li>")
			w.link(b.Project+" "+name(b.Ref), b.Dir, "build.log")
			w.raw(" at <code>")
			w.text(b.Short)
			w.raw("</code>: ")
			w.text(short(b.Reason, 200))
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
			w.buildCells(r.Latest)
			w.raw("</tr>\n")
		}
		w.raw("</table>\n")
	}
	if len(s.Projects) == 0 {
		w.raw("<p>No build yet.</p>")
	}
	w.raw("\n")
	w.queue(s)
	w.raw("\n</body></html>\n")
	return w.Bytes()
}

// projectPage is WORKDIR/PROJECT/index.html: each ref's badge, latest and older builds.
func projectPage(s *site) []byte {
	w := &writer{prefix: "../", now: s.Generated}
	p := s.Projects[0]
	w.raw("<!DOCTYPE html>\n<html lang=\"en\"><head>", style, "\n<title>pipelined: ")
	w.text(p.Name)
	w.raw("</title></head><body>\n", `<p><a href="../index.html">All projects</a></p>`, "\n\n<h1>")
	w.text(p.Name)
	w.raw("</h1>\n", `<p class="small">Generated `, when(s.Generated), " by pipelined.</p>\n")
	for _, r := range p.Refs {
		w.raw("\n<h2>")
		w.text(name(r.Ref))
		w.raw(` <img src="`)
		w.text(href("", baseName(r.Dir), "status.svg"))
		w.raw(`" alt="`)
		w.text(r.Latest.Result)
		w.raw(`" height="20"></h2>`, "\n")
		w.raw(`<table><tr><th>result</th><th>commit</th><th class="opt">finished</th><th class="opt">took</th><th>links</th></tr>`, "\n")
		for _, b := range append([]build{r.Latest}, r.Older...) {
			w.raw("<tr>")
			w.buildCells(b)
			w.raw("</tr>\n")
		}
		w.raw("</table>\n")
	}
	w.raw("\n")
	w.queue(s)
	w.raw("\n</body></html>\n")
	return w.Bytes()
}

// buildCells writes a build's cells: result (a word on a colour) and reason, commit and
// subject, when it finished, how long it took, and its links.
func (w *writer) buildCells(b build) {
	w.raw(`<td><span class="result" style="background:`, colour(b.Result), `">`)
	w.text(b.Result)
	w.raw("</span>")
	if b.Reason != "" {
		w.raw(`<br><span class="reason">`)
		w.text(short(b.Reason, 200))
		w.raw("</span>")
	}
	w.raw("</td>\n<td>")
	w.commit(b.Short, b.Subject)
	w.raw("</td>\n", `<td class="opt">`)
	if b.Finished.IsZero() {
		w.raw("started ", when(b.Started), "</td>\n", `<td class="opt">—</td>`, "\n")
	} else {
		w.raw(when(b.Finished), `<br><span class="small">`, ago(w.now, b.Finished), "</span></td>\n")
		w.raw(`<td class="opt">`, b.Duration.String(), "</td>\n")
	}
	w.raw("<td>")
	if b.HasLog {
		w.link("log", b.Dir, "build.log")
	}
	w.raw("\n")
	if b.HasJSON {
		w.link("status", b.Dir, "build.json")
	}
	w.raw("\n")
	if b.Drop {
		w.raw(`<a href="`)
		w.text(href(w.prefix, b.Dir, "drop"))
		w.raw(`/">artifacts</a>`)
	}
	w.raw("</td>")
}

// commit writes a short commit and its subject.
func (w *writer) commit(shortCommit, subject string) {
	w.raw("<code>")
	w.text(shortCommit)
	w.raw("</code>")
	if subject != "" {
		w.raw(" ")
		w.text(short(subject, 80))
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
			w.commit(b.Short, b.Subject)
			w.raw(`</td><td class="opt">`, when(b.Started), "</td>\n<td>")
			if b.HasLog {
				w.link("log", b.Dir, "build.log")
			}
			w.raw("</td></tr>\n")
		}
		w.raw("</table>")
	} else {
		w.raw("<p>No build is running.</p>")
	}
	w.raw("\n<h2>Queued (", strconv.Itoa(len(s.Queued)), ")</h2>\n")
	if len(s.Queued) > 0 {
		w.raw(`<table><tr><th>project</th><th>ref</th><th>commit</th><th class="opt">queued</th><th class="opt">by</th></tr>`, "\n")
		for _, q := range s.Queued {
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
	} else {
		w.raw("<p>Nothing is queued.</p>")
	}
}

// when is a time as the pages show it, in UTC.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// ago is how long before now t was, roughly.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
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

// baseName is the last segment of a slash-separated path.
func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// badge is a ref's status.svg: "build | RESULT", in the result's colour.
func badge(result string) []byte {
	const left = 44
	right := 8 + 7*len(result)
	return []byte(fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="%[1]d" height="20" role="img" aria-label="build: %[3]s">
<title>build: %[3]s</title>
<rect width="%[2]d" height="20" fill="#555"/>
<rect x="%[2]d" width="%[4]d" height="20" fill="%[5]s"/>
<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">
<text x="6" y="14">build</text>
<text x="%[6]d" y="14">%[3]s</text>
</g>
</svg>
`, left+right, left, escaper.Replace(result), right, colour(result), left+4))
}
