package page

import (
	"fmt"
	"html/template"
	"path"
	"strings"
	"time"
)

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

var funcs = template.FuncMap{
	"colour": colour,
	"href":   href,
	"args":   func(p pageData, b build) buildArgs { return buildArgs{B: b, Prefix: p.Prefix, Now: p.Generated} },
	"base":   path.Base,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"ago": func(now, t time.Time) string {
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
	},
	"short": func(s string, n int) string {
		if r := []rune(s); len(r) > n {
			return string(r[:n]) + "…"
		}
		return s
	},
	"name": func(ref string) string {
		for _, p := range []string{"refs/heads/", "refs/tags/"} {
			if strings.HasPrefix(ref, p) {
				return strings.TrimPrefix(ref, p)
			}
		}
		return ref
	},
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

const buildRow = `{{define "build"}}<td><span class="result" style="background:{{colour .B.Result}}">{{.B.Result}}</span>
{{- if .B.Reason}}<br><span class="reason">{{short .B.Reason 200}}</span>{{end}}</td>
<td><code>{{.B.Short}}</code>{{if .B.Subject}} {{short .B.Subject 80}}{{end}}</td>
<td class="opt">{{if .B.Finished.IsZero}}started {{when .B.Started}}{{else}}{{when .B.Finished}}<br><span class="small">{{ago .Now .B.Finished}}</span>{{end}}</td>
<td class="opt">{{if .B.Finished.IsZero}}—{{else}}{{.B.Duration}}{{end}}</td>
<td>{{if .B.HasLog}}<a href="{{href .Prefix .B.Dir "build.log"}}">log</a>{{end}}
{{if .B.HasJSON}}<a href="{{href .Prefix .B.Dir "build.json"}}">status</a>{{end}}
{{if .B.Drop}}<a href="{{href .Prefix .B.Dir "drop"}}/">artifacts</a>{{end}}</td>{{end}}`

const queueTables = `{{define "queue"}}
<h2>Running ({{len .Running}})</h2>
{{if .Running}}<table><tr><th>project</th><th>ref</th><th>commit</th><th class="opt">started</th><th>links</th></tr>
{{range .Running}}<tr><td>{{.Project}}</td><td>{{name .Ref}}</td><td><code>{{.Short}}</code>{{if .Subject}} {{short .Subject 80}}{{end}}</td><td class="opt">{{when .Started}}</td>
<td>{{if .HasLog}}<a href="{{href $.Prefix .Dir "build.log"}}">log</a>{{end}}</td></tr>
{{end}}</table>{{else}}<p>No build is running.</p>{{end}}
<h2>Queued ({{len .Queued}})</h2>
{{if .Queued}}<table><tr><th>project</th><th>ref</th><th>commit</th><th class="opt">queued</th><th class="opt">by</th></tr>
{{range .Queued}}<tr><td>{{.Project}}</td><td>{{name .Ref}}{{if .Note}}<br><span class="reason">{{short .Note 200}}</span>{{end}}</td><td><code>{{.Short}}</code></td><td class="opt">{{when .Since}}</td><td class="opt">{{.Source}}</td></tr>
{{end}}</table>{{else}}<p>Nothing is queued.</p>{{end}}{{end}}`

var indexPage = template.Must(template.New("index").Funcs(funcs).Parse(`<!DOCTYPE html>
<html lang="en"><head>` + style + `
<title>pipelined: builds</title></head><body>
<h1>Builds</h1>
<p class="small">Generated {{when .Generated}} by pipelined. Each ref's latest build; a project's page lists its older builds.</p>
{{if .Failing}}<h2>Failing now ({{len .Failing}})</h2>
<ul>{{range .Failing}}<li><a href="{{href $.Prefix .Dir "build.log"}}">{{.Project}} {{name .Ref}}</a> at <code>{{.Short}}</code>: {{short .Reason 200}}</li>
{{end}}</ul>{{else}}<p><strong>No ref is failing.</strong></p>{{end}}
{{range .Projects}}{{$p := .}}
<h2><a href="{{href $.Prefix .Name "index.html"}}">{{.Name}}</a></h2>
<table><tr><th>ref</th><th>result</th><th>commit</th><th class="opt">finished</th><th class="opt">took</th><th>links</th></tr>
{{range .Refs}}<tr><td>{{name .Ref}}</td>{{template "build" (args $ .Latest)}}</tr>
{{end}}</table>
{{else}}<p>No build yet.</p>{{end}}
{{template "queue" $}}
</body></html>
` + buildRow + queueTables))

var projectPage = template.Must(template.New("project").Funcs(funcs).Parse(`<!DOCTYPE html>
<html lang="en"><head>` + style + `
<title>pipelined: {{(index .Projects 0).Name}}</title></head><body>
<p><a href="{{.Prefix}}index.html">All projects</a></p>
{{range .Projects}}
<h1>{{.Name}}</h1>
<p class="small">Generated {{when $.Generated}} by pipelined.</p>
{{range .Refs}}
<h2>{{name .Ref}} <img src="{{href "" (base .Dir) "status.svg"}}" alt="{{.Latest.Result}}" height="20"></h2>
<table><tr><th>result</th><th>commit</th><th class="opt">finished</th><th class="opt">took</th><th>links</th></tr>
<tr>{{template "build" (args $ .Latest)}}</tr>
{{range .Older}}<tr>{{template "build" (args $ .)}}</tr>
{{end}}</table>
{{end}}{{end}}
{{template "queue" $}}
</body></html>
` + buildRow + queueTables))

// pageData is what a page template gets: the site, and the prefix of its links to the
// work directory ("" or "../").
type pageData struct {
	*site
	Prefix string
}

// buildArgs is what the "build" template gets: the build, and the page's prefix and time.
type buildArgs struct {
	B      build
	Prefix string
	Now    time.Time
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
`, left+right, left, template.HTMLEscapeString(result), right, colour(result), left+4))
}
