package page

import (
	"encoding/xml"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/outcome"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

const hostileRef = `refs/heads/<script>alert("x")</script>'😀`

// fakeBuild writes a build directory with its build.json, build.log and drop/.
func fakeBuild(t *testing.T, l workdir.Layout, project, ref, commit, result string, at time.Time) string {
	t.Helper()
	dir := filepath.Join(l.RefDir(project, ref), commit[:8])
	if result != outcome.Success {
		dir += workdir.TmpSuffix
	}
	os.MkdirAll(workdir.DropPath(dir), 0o755)
	os.WriteFile(workdir.LogPath(dir), []byte("$ true\n"), 0o644)
	st := &buildlog.Status{Project: project, Ref: ref, Commit: commit, ShortCommit: commit[:8], Path: dir,
		Result: result, Started: at, Finished: at.Add(3 * time.Second), Seconds: 3, Subject: `fix <b>bold</b> & "quotes"`}
	if result == outcome.Failed {
		st.Reason = "prepare: <exit> 1"
	}
	if result == outcome.Running {
		st.Finished, st.Seconds, st.PID = time.Time{}, 0, os.Getpid()
	}
	if err := st.Save(workdir.StatusPath(dir)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestPagesShowEveryRefEscapedWithWorkingLinks(t *testing.T) {
	l := workdir.Layout{Root: t.TempDir()}
	now := time.Now()
	c := func(ch string) string { return strings.Repeat(ch, 40) }
	fakeBuild(t, l, "web", "refs/heads/main", c("a"), outcome.Failed, now.Add(-time.Hour))
	fakeBuild(t, l, "web", "refs/heads/main", c("b"), outcome.Success, now.Add(-2*time.Hour))
	fakeBuild(t, l, "web", hostileRef, c("c"), outcome.Failed, now.Add(-time.Minute))
	fakeBuild(t, l, "api", "refs/tags/v1", c("d"), outcome.Running, now)
	sp, err := spool.Open(l.SpoolDir())
	if err != nil {
		t.Fatal(err)
	}
	sp.Write(spool.Job{Project: "api", Ref: "refs/heads/<i>queued</i>", Source: "webhook"})

	if err := Write(l, outcome.NewJobs(sp), now); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"index.html", "web/index.html", "api/index.html"} {
		data, err := os.ReadFile(filepath.Join(l.Root, page))
		if err != nil {
			t.Fatal(err)
		}
		html := string(data)
		for _, raw := range []string{"<script>alert", "<b>bold", "<i>queued", "<exit>"} {
			if strings.Contains(html, raw) {
				t.Errorf("%s has %q unescaped", page, raw)
			}
		}
		if strings.Count(strings.ToLower(html), "<script") != 1 || !strings.Contains(html, "<script>"+script+"</script>") ||
			strings.Contains(html, "http://") || strings.Contains(html, "https://") {
			t.Errorf("%s has a script other than its own, or an outside link", page)
		}
		checkLinks(t, l.Root, page, html)
	}
	index, _ := os.ReadFile(filepath.Join(l.Root, "index.html"))
	for _, want := range []string{"failed", "running", "&lt;script&gt;", "Queued (1)", "Running (1)", "fix &lt;b&gt;bold&lt;/b&gt;", "Failing now (2)"} {
		if !strings.Contains(string(index), want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	web, _ := os.ReadFile(filepath.Join(l.Root, "web", "index.html"))
	if !strings.Contains(string(web), c("b")[:8]) {
		t.Errorf("the project page does not list the older build of main")
	}
	// The badge and the latest link of each ref.
	for ref, want := range map[string]string{"refs/heads/main": "failed", hostileRef: "failed", "refs/tags/v1": "running"} {
		project := "web"
		if ref == "refs/tags/v1" {
			project = "api"
		}
		svg, err := os.ReadFile(filepath.Join(l.RefDir(project, ref), "status.svg"))
		if err != nil {
			t.Fatal(err)
		}
		if readable, err := os.ReadFile(filepath.Join(l.Root, BadgePath(project, ref))); err != nil || string(readable) != string(svg) {
			t.Errorf("%s: the badge at %s: %v", ref, BadgePath(project, ref), err)
		}
		if err := xml.Unmarshal(svg, new(struct{ XMLName xml.Name })); err != nil {
			t.Errorf("%s: the badge is not XML: %v", ref, err)
		}
		if !strings.Contains(string(svg), ">"+want+"<") {
			t.Errorf("%s: the badge does not say %s:\n%s", ref, want, svg)
		}
		target, err := os.Readlink(filepath.Join(l.RefDir(project, ref), "latest"))
		if err != nil || !strings.HasPrefix(target, map[string]string{"refs/heads/main": "aaaaaaaa", hostileRef: "cccccccc", "refs/tags/v1": "dddddddd"}[ref]) {
			t.Errorf("%s: latest → %q, %v", ref, target, err)
		}
	}
}

var hrefs = regexp.MustCompile(`(?:href|src)="([^"]*)"`)

// checkLinks fails for any link of the page that does not lead to an existing file.
func checkLinks(t *testing.T, root, page, html string) {
	t.Helper()
	for _, m := range hrefs.FindAllStringSubmatch(html, -1) {
		link := strings.ReplaceAll(m[1], "&amp;", "&")
		path, err := url.PathUnescape(link)
		if err != nil {
			t.Errorf("%s: link %q: %v", page, link, err)
			continue
		}
		target := filepath.Join(root, filepath.Dir(page), filepath.FromSlash(path))
		if _, err := os.Stat(target); err != nil {
			t.Errorf("%s: link %q leads nowhere: %v", page, link, err)
		}
	}
}

func TestPagesReplaceControlCharacters(t *testing.T) {
	l := workdir.Layout{Root: t.TempDir()}
	dir := fakeBuild(t, l, "web", "refs/heads/main", strings.Repeat("a", 40), outcome.Success, time.Now())
	st, err := buildlog.LoadStatus(workdir.StatusPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	st.Subject = "\x1b[31mred\x07 and\ttab \u0085\u202egnp.exe"
	if err := st.Save(workdir.StatusPath(dir)); err != nil {
		t.Fatal(err)
	}
	sp, _ := spool.Open(l.SpoolDir())
	if err := Write(l, outcome.NewJobs(sp), time.Now()); err != nil {
		t.Fatal(err)
	}
	html := readPage(t, filepath.Join(l.Root, "index.html"))
	if strings.ContainsAny(html, "\x1b\x07") {
		t.Errorf("the page carries the subject's control characters")
	}
	if !strings.Contains(html, "\uFFFD[31mred\uFFFD and\ttab \uFFFD\uFFFDgnp.exe") {
		t.Errorf("the subject is not shown with its control characters replaced:\n%s", html)
	}
}

// TestWriteErrorsNameThePage: an error names the page, not the temporary file beside it,
// so that the daemon, which logs an error again only when it changes, logs it once.
func TestWriteErrorsNameThePage(t *testing.T) {
	l := workdir.Layout{Root: t.TempDir()}
	fakeBuild(t, l, "web", "refs/heads/main", strings.Repeat("a", 40), outcome.Success, time.Now())
	// A directory where the page goes: the rename cannot replace it.
	if err := os.MkdirAll(filepath.Join(l.Root, "index.html", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	sp, _ := spool.Open(l.SpoolDir())
	first, second := Write(l, outcome.NewJobs(sp), time.Now()), Write(l, outcome.NewJobs(sp), time.Now().Add(time.Minute))
	if first == nil || second == nil {
		t.Fatalf("writing over a directory did not fail: %v, %v", first, second)
	}
	if first.Error() != second.Error() || !strings.Contains(first.Error(), "writing "+filepath.Join(l.Root, "index.html")+":") {
		t.Errorf("the errors differ or do not name the page:\n%v\n%v", first, second)
	}
}

func readPage(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
