package page

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/outcome"
	"pipelined/internal/recorded"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// setStatus changes a fake build's build.json.
func setStatus(t *testing.T, dir string, change func(*buildlog.Status)) {
	t.Helper()
	st, err := buildlog.LoadStatus(workdir.StatusPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	change(st)
	if err := st.Save(workdir.StatusPath(dir)); err != nil {
		t.Fatal(err)
	}
}

func TestACanceledRebuildDoesNotHideTheRefsState(t *testing.T) {
	l := workdir.Layout{Root: t.TempDir()}
	now := time.Now()
	c := strings.Repeat("a", 40)
	fakeBuild(t, l, "web", "refs/heads/main", c, outcome.Success, now.Add(-time.Hour))
	rebuild := fakeBuild(t, l, "web", "refs/heads/main", strings.Repeat("a", 8)+strings.Repeat("b", 32), outcome.Canceled, now)
	setStatus(t, rebuild, func(st *buildlog.Status) { st.Reason = "canceled by hand" })
	// api's newest decisive build failed; a superseded build after it hides nothing either.
	fakeBuild(t, l, "api", "refs/heads/main", strings.Repeat("c", 40), outcome.Failed, now.Add(-time.Hour))
	retried := fakeBuild(t, l, "api", "refs/heads/main", strings.Repeat("d", 40), outcome.Failed, now)
	setStatus(t, retried, func(st *buildlog.Status) { st.Retry, st.Reason = true, "the disk is full" })
	sp, _ := spool.Open(l.SpoolDir())
	if err := Write(l, outcome.NewJobs(sp), now); err != nil {
		t.Fatal(err)
	}
	for project, want := range map[string]string{"web": "success", "api": "failed"} {
		svg := readPage(t, filepath.Join(l.Root, BadgePath(project, "refs/heads/main")))
		if !strings.Contains(svg, ">"+want+"<") {
			t.Errorf("%s: the badge does not say %s:\n%s", project, want, svg)
		}
	}
	index := readPage(t, filepath.Join(l.Root, "index.html"))
	if !strings.Contains(index, "Failing now (1)") || !strings.Contains(index, "newer: <a") || !strings.Contains(index, "canceled by hand") {
		t.Errorf("index.html does not show the state and the newer build:\n%s", index)
	}
	if strings.Contains(index, `http-equiv="refresh"`) {
		t.Errorf("index.html refreshes itself while nothing runs")
	}
}

func TestARecordedRefIsShownAsRecorded(t *testing.T) {
	l := workdir.Layout{Root: t.TempDir()}
	at := time.Now().Add(-time.Minute)
	commit := strings.Repeat("e", 40)
	if err := recorded.Write(l, recorded.Record{Project: "lib", Ref: "refs/heads/main", Commit: commit, Recorded: at, Reason: "existed at the first poll"}); err != nil {
		t.Fatal(err)
	}
	if err := Write(l, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"index.html", "lib/index.html"} {
		html := readPage(t, filepath.Join(l.Root, page))
		if !strings.Contains(html, ">recorded<") || !strings.Contains(html, "eeeeeeee") || !strings.Contains(html, "existed at the first poll") {
			t.Errorf("%s does not show the recorded ref:\n%s", page, html)
		}
		checkLinks(t, l.Root, page, html)
	}
	if svg := readPage(t, filepath.Join(l.Root, BadgePath("lib", "refs/heads/main"))); !strings.Contains(svg, ">recorded<") {
		t.Errorf("the badge: %s", svg)
	}
}

func TestABuildsPageShowsItsErrorLogAndCommit(t *testing.T) {
	l := workdir.Layout{Root: t.TempDir()}
	now := time.Now()
	dir := fakeBuild(t, l, "web", "refs/heads/main", strings.Repeat("f", 40), outcome.Failed, now)
	setStatus(t, dir, func(st *buildlog.Status) {
		st.FailedOutput = []string{`rsync: mkdir "/srv/<www>" failed`, "rsync error: code 11"}
		st.Source, st.CommitURL = "webhook", `https://git.example.com/web/commit/ffffffff?a="b"`
	})
	os.WriteFile(workdir.LogPath(dir), []byte(strings.Repeat("early line\n", 10000)+"$ rsync -- x <y>\nthe end\n"), 0o644)
	running := fakeBuild(t, l, "web", "refs/heads/dev", strings.Repeat("1", 40), outcome.Running, now)
	if err := Write(l, nil, now); err != nil {
		t.Fatal(err)
	}
	page := readPage(t, filepath.Join(dir, "index.html"))
	for _, want := range []string{`mkdir &#34;/srv/&lt;www&gt;&#34; failed`, "by webhook", `href="https://git.example.com/web/commit/ffffffff?a=&#34;b&#34;"`,
		"$ rsync -- x &lt;y&gt;\nthe end\n</pre>", "the whole log is", `<a href="build.log">`, `data-offset="`} {
		if !strings.Contains(page, want) {
			t.Errorf("the build's page lacks %q", want)
		}
	}
	if strings.Contains(page, "data-follow") || len(page) > logTailBytes+16<<10 {
		t.Errorf("a finished build's page follows its log, or holds all of it (%d bytes)", len(page))
	}
	live := readPage(t, filepath.Join(running, "index.html"))
	if !strings.Contains(live, `data-follow="build.log"`) || strings.Contains(live, `http-equiv="refresh"`) {
		t.Errorf("a running build's page does not follow its log (or reloads itself):\n%s", live)
	}
	if index := readPage(t, filepath.Join(l.Root, "index.html")); !strings.Contains(index, `http-equiv="refresh"`) ||
		!strings.Contains(index, "rsync error: code 11") {
		t.Errorf("index.html does not refresh while a build runs, or lacks the error lines:\n%s", index)
	}
}

func TestBadgePathsAreReadableAndDistinct(t *testing.T) {
	seen := map[string]string{}
	for ref, want := range map[string]string{
		"refs/heads/main":       "badges/p/branch/main.svg",
		"refs/heads/feature/x":  "badges/p/branch/feature~x.svg",
		"refs/tags/v1.0":        "badges/p/tag/v1.0.svg",
		"refs/heads/tag/v1.0":   "badges/p/branch/tag~v1.0.svg",
		"refs/pull/12/head":     "badges/p/ref/pull~12~head.svg",
		"refs/heads/x.svg":      "badges/p/branch/x.svg.svg",
		"refs/heads/x":          "badges/p/branch/x.svg",
		"refs/heads/a%2Fb c#d+": "badges/p/branch/a%2Fb c#d+.svg",
	} {
		got := BadgePath("p", ref)
		if want != "" && got != want {
			t.Errorf("BadgePath(%q) = %q, want %q", ref, got, want)
		}
		if other, ok := seen[got]; ok {
			t.Errorf("%q and %q share %s", ref, other, got)
		}
		seen[got] = ref
	}
}

func TestABadgeThatCannotBeWrittenIsReported(t *testing.T) {
	l := workdir.Layout{Root: t.TempDir()}
	fakeBuild(t, l, "web", "refs/heads/main", strings.Repeat("a", 40), outcome.Success, time.Now())
	os.WriteFile(filepath.Join(l.Root, "badges"), []byte("a file where the badges go"), 0o644)
	err := Write(l, nil, time.Now())
	if err == nil || !strings.Contains(err.Error(), "writing "+filepath.Join(l.Root, "badges", "web", "branch", "main.svg")) {
		t.Errorf("Write = %v", err)
	}
	// The rest is written all the same.
	if _, err := os.Stat(filepath.Join(l.RefDir("web", "refs/heads/main"), "status.svg")); err != nil {
		t.Errorf("status.svg: %v", err)
	}
}

// TestAFinishedBuildsPageIsWrittenOnce: its log is not read again at every rewrite of the
// pages, until its records change.
func TestAFinishedBuildsPageIsWrittenOnce(t *testing.T) {
	l := workdir.Layout{Root: t.TempDir()}
	dir := fakeBuild(t, l, "web", "refs/heads/main", strings.Repeat("a", 40), outcome.Failed, time.Now())
	if err := Write(l, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, "index.html")
	old := time.Now().Add(-time.Hour)
	os.Chtimes(workdir.StatusPath(dir), old, old)
	os.Chtimes(workdir.LogPath(dir), old, old)
	os.WriteFile(page, []byte("kept"), 0o644)
	if err := Write(l, nil, time.Now()); err != nil || readPage(t, page) != "kept" {
		t.Errorf("a fresh page was written again: %v", err)
	}
	setStatus(t, dir, func(st *buildlog.Status) { st.Reason = "changed" })
	if err := Write(l, nil, time.Now()); err != nil || !strings.Contains(readPage(t, page), "changed") {
		t.Errorf("the page of a changed build was not written again: %v", err)
	}
}
