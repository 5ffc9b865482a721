package e2e

import (
	"encoding/xml"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/testenv"
	"pipelined/internal/workdir"
)

// artifacts is where tests leave files for a person to look at (PIPELINED_ARTIFACTS, or a
// directory in the system's temporary directory).
func artifacts(t *testing.T) string {
	dir := os.Getenv("PIPELINED_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "pipelined-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chromium runs headless Chromium on a page and returns the DOM it rendered; it writes a
// screenshot to png.
func chromium(t *testing.T, page, png string) string {
	t.Helper()
	testenv.Require(t, "chromium")
	args := []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--window-size=1100,900"}
	shot := exec.Command("chromium", append(args, "--screenshot="+png, "file://"+page)...)
	if out, err := shot.CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	dom, err := exec.Command("chromium", append(args, "--dump-dom", "file://"+page)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	return string(dom)
}

// TestStatusPageInABrowser runs builds that succeed, fail, run and wait, and opens the
// status page the daemon writes in a real headless browser.
func TestStatusPageInABrowser(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	hostile := `x<script>alert(1)</script>"'😀`
	repo.Branch(hostile)
	repo.Push(hostile)
	gate := s.file("gate", "", 0o644)
	slow := s.file("slow.sh", "#!/bin/sh\nwhile [ -e "+gate+" ]; do sleep 0.1; done\n", 0o755)
	s.writeConfig(`[website]
remote = %[1]s
branches = .*

[api]
remote = %[1]s
branches = main
prepare_callback = /bin/false

[worker]
remote = %[1]s
branches = main
prepare_callback = %[2]s

[docs]
remote = %[1]s
branches = main
`, repo.Remote, slow)
	p := s.daemon("--limit", "1", "--interval", "3600")
	// website (two refs) and api finish; worker runs; docs waits behind it.
	waitFor(t, p, 2*time.Minute, "the builds did not reach their states", func() bool {
		return len(s.finished()) == 3 && s.running() == 1 && len(s.queued()) == 1
	})
	index := filepath.Join(s.workdir, "index.html")
	waitFor(t, p, time.Minute, "the page does not show the running build", func() bool {
		data, _ := os.ReadFile(index)
		return strings.Contains(string(data), "Running (1)") && strings.Contains(string(data), "Queued (1)")
	})

	shot := filepath.Join(artifacts(t), "status-page.png")
	dom := chromium(t, index, shot)
	t.Logf("screenshot: %s", shot)
	if info, err := os.Stat(shot); err != nil || info.Size() < 1000 {
		t.Errorf("no screenshot: %v", err)
	}
	for _, want := range []string{"Builds", "Failing now (1)", "success", "failed", "running", "website", "api", "worker", "docs"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}
	// The hostile ref is text on the page, not markup.
	if !strings.Contains(dom, "x&lt;script&gt;alert(1)&lt;/script&gt;\"'😀") {
		t.Errorf("the hostile ref does not appear as text:\n%s", dom)
	}
	if n := len(regexp.MustCompile(`(?i)<script`).FindAllString(dom, -1)); n != 1 {
		t.Errorf("the rendered page has %d script elements, want its own one", n)
	}
	// Every link leads to a file.
	links := regexp.MustCompile(`(?:href|src)="([^"]*)"`).FindAllStringSubmatch(dom, -1)
	if len(links) < 10 {
		t.Errorf("only %d links on the page", len(links))
	}
	for _, m := range links {
		path, err := url.PathUnescape(strings.ReplaceAll(m[1], "&amp;", "&"))
		if err != nil {
			t.Errorf("link %q: %v", m[1], err)
			continue
		}
		if _, err := os.Stat(filepath.Join(s.workdir, filepath.FromSlash(path))); err != nil {
			t.Errorf("link %q leads nowhere: %v", m[1], err)
		}
	}
	// A project's own page, and the badges.
	projectDom := chromium(t, filepath.Join(s.workdir, "website", "index.html"), filepath.Join(artifacts(t), "status-page-website.png"))
	if !strings.Contains(projectDom, "All projects") || !strings.Contains(projectDom, "x&lt;script&gt;") {
		t.Errorf("the project page:\n%s", projectDom)
	}
	for project, want := range map[string]string{"website": "success", "api": "failed", "worker": "running"} {
		svg := readFile(t, filepath.Join(s.workdir, project, workdir.EncodeRef("refs/heads/main"), "status.svg"))
		if err := xml.Unmarshal([]byte(svg), new(struct{ XMLName xml.Name })); err != nil {
			t.Errorf("%s: the badge is not XML: %v", project, err)
		}
		if !strings.Contains(svg, ">"+want+"<") {
			t.Errorf("%s: the badge does not say %s", project, want)
		}
		latest, err := os.Readlink(filepath.Join(s.workdir, project, workdir.EncodeRef("refs/heads/main"), "latest"))
		if err != nil || !strings.HasPrefix(latest, repo.Head()[:8]) {
			t.Errorf("%s: latest → %q, %v", project, latest, err)
		}
	}
	os.Remove(gate)
	waitFor(t, p, time.Minute, "the builds did not finish", func() bool { return len(s.finished()) == 5 })
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}
