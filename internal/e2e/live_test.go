package e2e

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/outcome"
	"pipelined/internal/testenv"
)

// liveSite is the work directory of TestTheStatusPageLivesOverHTTP: a build that ticks
// while a gate file exists, and one that fails, under the real daemon, served by nginx.
type liveSite struct {
	*site
	web  *nginx
	gate string
	repo *testenv.Repo
	p    *process
}

func newLiveSite(t *testing.T) *liveSite {
	s := &liveSite{site: newSite(t), repo: testenv.NewRepo(t, nil)}
	s.web = startNginx(t, s.site)
	s.gate = s.file("gate", "", 0o644)
	tick := s.file("tick.sh", "#!/bin/sh\ni=0\nwhile [ -e "+s.gate+" ] && [ $i -lt 5000 ]; do i=$((i+1)); echo \"tick $i\"; sleep 0.1; done\n", 0o755)
	fail := s.file("fail.sh", "#!/bin/sh\necho 'compiling…'\necho 'error: <b>the real reason</b> in main.c:12' >&2\nexit 2\n", 0o755)
	s.writeConfig(`[site]
remote = %[1]s
branches = main
prepare_callback = %[2]s
commit_url = https://git.example.com/site/commit/${BUILD_COMMIT}

[broken]
remote = %[1]s
branches = main
prepare_callback = %[3]s
`, s.repo.Remote, tick, fail)
	s.p = s.daemon("--limit", "2", "--interval", "3600")
	return s
}

// runningBuild waits for the site's build to run and its page to be written, and returns
// the build directory and the URL path of its page.
func (s *liveSite) runningBuild(t *testing.T) (dir, page string) {
	waitFor(t, s.p, 2*time.Minute, "site does not run", func() bool {
		for _, st := range s.runningStatuses() {
			if st.Project == "site" {
				dir = st.Path
				return exists(filepath.Join(dir, "index.html"))
			}
		}
		return false
	})
	rel, _ := filepath.Rel(s.workdir, dir)
	parts := strings.Split(filepath.ToSlash(rel), "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return dir, "/" + strings.Join(parts, "/") + "/index.html"
}

// TestTheStatusPageLivesOverHTTP: the real daemon's work directory served by nginx and
// opened in headless Chromium. While a build runs the pages reload themselves, and stop
// once nothing runs; the running build's page follows its log with Range requests; the
// failing build's own lines are on the page; a canceled rebuild keeps the ref green, and
// its badge is at a readable URL.
func TestTheStatusPageLivesOverHTTP(t *testing.T) {
	s := newLiveSite(t)
	waitFor(t, s.p, 2*time.Minute, "broken did not fail", func() bool { return len(s.finished()) == 1 })
	dir, page := s.runningBuild(t)
	s.openPages(t, page)
	s.logGrowsInThePage(t, dir, page)
	index := dumpDOM(t, s.web.base+"/index.html", 3*time.Second, filepath.Join(artifacts(t), "status-page-live.png"))
	for _, want := range []string{"Failing now (1)", "error: &lt;b&gt;the real reason&lt;/b&gt; in main.c:12", "Running (1)", "by watch",
		`href="https://git.example.com/site/commit/` + s.repo.Head() + `"`, ` ago)</span>`} {
		if !strings.Contains(index, want) {
			t.Errorf("the page in the browser lacks %q", want)
		}
	}

	// The build ends: the pages stop reloading.
	os.Remove(s.gate)
	waitFor(t, s.p, 2*time.Minute, "site did not succeed", func() bool { return len(s.finished()) == 2 })
	waitFor(t, s.p, time.Minute, "the page still shows a running build", func() bool {
		return !strings.Contains(readFile(t, filepath.Join(s.workdir, "index.html")), `http-equiv="refresh"`)
	})
	s.reloadsStop(t)
	s.canceledRebuildKeepsTheRefGreen(t)
	s.p.signal(syscall.SIGINT)
	s.p.wait(t, time.Minute)
}

// openPages opens the index and the running build's page in browsers that stay, and waits
// for the index to reload itself and the build's page to ask for the log's new bytes.
func (s *liveSite) openPages(t *testing.T, page string) {
	openBrowser(t, s.web.base+"/index.html")
	openBrowser(t, s.web.base+page)
	testenv.Eventually(t, time.Minute, "the index does not reload itself while a build runs", func() bool {
		return s.web.requests("/index.html") >= 3
	})
	logPath := strings.TrimSuffix(page, "index.html") + "build.log"
	testenv.Eventually(t, time.Minute, "the build's page does not read its log with Range requests", func() bool {
		return s.web.requests(logPath, "206") >= 2
	})
}

// logGrowsInThePage compares the build page's DOM at two moments: the log in it grows past
// what the page's file holds.
func (s *liveSite) logGrowsInThePage(t *testing.T, dir, page string) {
	static := strings.Count(readFile(t, filepath.Join(dir, "index.html")), "tick ")
	first := strings.Count(dumpDOM(t, s.web.base+page, 2*time.Second, filepath.Join(artifacts(t), "build-page.png")), "tick ")
	testenv.Eventually(t, 2*time.Minute, "the log in the page does not grow", func() bool {
		return strings.Count(dumpDOM(t, s.web.base+page, 2*time.Second, ""), "tick ") > first
	})
	if first <= static {
		t.Errorf("the page in the browser has %d ticks, its file %d: the script added nothing", first, static)
	}
}

// reloadsStop: the open index fetches the page written after the last build ended, which
// has no refresh, so a browser that holds it reloads no more.
func (s *liveSite) reloadsStop(t *testing.T) {
	n := s.web.requests("/index.html")
	testenv.Eventually(t, time.Minute, "the open index did not fetch the final page", func() bool {
		return s.web.requests("/index.html") > n
	})
	if dom := dumpDOM(t, s.web.base+"/index.html", time.Second, ""); strings.Contains(dom, `http-equiv="refresh"`) || !strings.Contains(dom, "Running (0)") {
		t.Errorf("the final page still reloads itself:\n%s", dom)
	}
}

// canceledRebuildKeepsTheRefGreen rebuilds site's head by hand and cancels the rebuild:
// the ref stays green on the page and on its badges, and the rebuild is named as newer.
func (s *liveSite) canceledRebuildKeepsTheRefGreen(t *testing.T) {
	os.WriteFile(s.gate, nil, 0o644)
	s.enqueue("--rebuild", "site", "main")
	waitFor(t, s.p, 2*time.Minute, "the rebuild does not run", func() bool { return s.running() == 1 })
	if res := run(t, nil, bin.pipelined, "cancel", "--workdir", s.workdir, "site"); res.code != 0 {
		t.Fatalf("pipelined cancel: exit %d\n%s", res.code, res.stderr)
	}
	waitFor(t, s.p, 2*time.Minute, "the rebuild was not canceled", func() bool {
		for _, st := range s.finished() {
			if st.Result == outcome.Canceled {
				return strings.Contains(readFile(t, filepath.Join(s.workdir, "index.html")), "newer: ")
			}
		}
		return false
	})
	index := dumpDOM(t, s.web.base+"/index.html", time.Second, "")
	row := index[strings.Index(index, ">site</a></h2>"):]
	row = row[strings.Index(row, "<tr><td>main</td>"):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, ">success</span>") || !strings.Contains(row, "newer: <a") || !strings.Contains(row, "canceled") {
		t.Errorf("the site's row is not green with the canceled rebuild as newer:\n%s", row)
	}
	for _, path := range []string{"/badges/site/branch/main.svg", "/site/refs%252Fheads%252Fmain/status.svg"} {
		if code, svg := s.web.get(t, path); code != 200 || !strings.Contains(svg, ">success<") {
			t.Errorf("GET %s: %d\n%s", path, code, svg)
		}
	}
	if res := run(t, nil, bin.pipelined, "status", "--workdir", s.workdir); !strings.Contains(res.stdout, "newer: canceled") {
		t.Errorf("pipelined status:\n%s", res.stdout)
	}
}

// TestThePagesShowABuildThatIsSlowToStart: a job without a commit makes pipeline-build ask
// the remote first (here through an ssh that takes 3 s), so its build.json appears well
// after the daemon started it; the pages still come to show it running, and reload.
func TestThePagesShowABuildThatIsSlowToStart(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	gate := s.file("gate", "", 0o644)
	ssh := s.file("slow-ssh", "#!/bin/sh\nsleep 3\nfor last; do :; done\nexec sh -c \"$last\"\n", 0o755)
	wait := s.file("wait.sh", "#!/bin/sh\nwhile [ -e "+gate+" ]; do sleep 0.1; done\n", 0o755)
	s.writeConfig(`[slow]
remote = ssh://build-host%s
branches = main
watch = False
env = GIT_SSH_COMMAND=%s
prepare_callback = %s
`, repo.Remote, ssh, wait)
	p := s.daemon("--interval", "3600")
	s.dropJob("slow.job", `{"project":"slow","ref":"refs/heads/main","source":"manual"}`+"\n")
	waitFor(t, p, time.Minute, "the build does not run", func() bool { return s.running() == 1 })
	waitFor(t, p, 30*time.Second, "the index does not show the running build", func() bool {
		index := readFile(t, filepath.Join(s.workdir, "index.html"))
		return strings.Contains(index, "Running (1)") && strings.Contains(index, `http-equiv="refresh"`)
	})
	os.Remove(gate)
	waitFor(t, p, time.Minute, "the build did not succeed", func() bool { return len(s.finished()) == 1 })
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}

// TestAnOpenBuildPageShowsHowItEnded: the page of a running build, open in a browser, loads
// the build's final page once build.json says it failed: its result and its failing lines.
func TestAnOpenBuildPageShowsHowItEnded(t *testing.T) {
	s := &liveSite{site: newSite(t), repo: testenv.NewRepo(t, nil)}
	s.web = startNginx(t, s.site)
	s.gate = s.file("gate", "", 0o644)
	fail := s.file("fail.sh", "#!/bin/sh\nwhile [ -e "+s.gate+" ]; do sleep 0.1; done\necho 'error: the real reason' >&2\nexit 2\n", 0o755)
	s.writeConfig("[site]\nremote = %s\nbranches = main\nprepare_callback = %s\n", s.repo.Remote, fail)
	s.p = s.daemon("--interval", "3600")
	_, page := s.runningBuild(t)
	openBrowser(t, s.web.base+page)
	logPath := strings.TrimSuffix(page, "index.html") + "build.log"
	testenv.Eventually(t, time.Minute, "the build's page does not follow its log", func() bool {
		return s.web.requests(logPath, "206", "416") >= 1 // 416: nothing new yet
	})
	os.Remove(s.gate)
	waitFor(t, s.p, 2*time.Minute, "site did not fail", func() bool { return len(s.finished()) == 1 })
	testenv.Eventually(t, time.Minute, "the open page did not load the final page", func() bool {
		return s.web.requests(page+"?ended") == 1
	})
	if dom := dumpDOM(t, s.web.base+page+"?ended", time.Second, ""); !strings.Contains(dom, `<pre class="out">error: the real reason</pre>`) ||
		strings.Contains(dom, "data-follow") {
		t.Errorf("the page loaded at the end:\n%s", dom)
	}
	s.p.signal(syscall.SIGINT)
	s.p.wait(t, time.Minute)
}
