package watch

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"pipelined/internal/config"
	"pipelined/internal/spool"
	"pipelined/internal/testenv"
	"pipelined/internal/workdir"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// jobName matches the names spool.Write gives.
var jobName = regexp.MustCompile(`\d{20}\.\d+\.[0-9a-f]{8}\.job`)

// onceSite is the repository, configuration and work directory of TestOncePassReport.
type onceSite struct {
	repo           *testenv.Repo
	main, dev, tag string // the commits of main and dev, and the tag object
	wd, cfg        string
	layout         workdir.Layout
	built          string // dev's build directory
}

// newOnceSite makes a repository with branches main, dev and feature, a tag, and a ref the
// watcher ignores; a configuration of every kind of project; and a work directory in which
// dev was built and the tag's job is queued.
func newOnceSite(t *testing.T) onceSite {
	repo := testenv.NewRepo(t, nil)
	mainCommit := repo.Head()
	repo.Branch("dev")
	dev := repo.Commit("dev", nil)
	repo.Push("dev")
	repo.Branch("feature")
	repo.Push("feature")
	repo.Tag("v1.0")
	tag := testenv.Git(t, repo.Remote, "rev-parse", "refs/tags/v1.0")                   // the tag object, as ls-remote lists it
	testenv.Git(t, repo.Remote, "update-ref", "refs/heads/--upload-pack=x", mainCommit) // a name the watcher ignores
	dir := t.TempDir()
	wd := filepath.Join(dir, "work")
	cfg := filepath.Join(dir, "pipelined.ini")
	writeFile(t, cfg, `[app]
remote = `+repo.Remote+`
branches = main|dev
tags = v.*

[same-remote]
remote = `+repo.Remote+`
branches = nothing-matches

[broken]
remote = https://user:s3cret@127.0.0.1:1/broken.git
branches = main

[hooks]
remote = `+repo.Remote+`
watch = False

[off]
enabled = False
remote = `+repo.Remote+`

[empty]
remote = `+repo.Remote+`
`)
	// dev was built; the tag's job is queued.
	layout := workdir.Layout{Root: wd}
	built := filepath.Join(layout.RefDir("app", "refs/heads/dev"), workdir.ShortCommit(dev))
	if err := os.MkdirAll(built, 0o755); err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(layout.SpoolDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sp.Write(spool.Job{Project: "app", Ref: "refs/tags/v1.0", Commit: tag}); err != nil {
		t.Fatal(err)
	}
	return onceSite{repo: repo, main: mainCommit, dev: dev, tag: tag, wd: wd, cfg: cfg, layout: layout, built: built}
}

// pass runs one pass of the watcher over the site and returns its report.
func (s onceSite) pass(t *testing.T) *Report {
	t.Helper()
	rep := NewReport()
	if err := Run(context.Background(), Options{Config: s.cfg, Workdir: s.wd, Once: true, Logger: discard, Report: rep}); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestOncePassReport runs one pass over every kind of project and ref and pins the whole
// report: what was queued, what was skipped and why, a remote's error with its password
// masked, the projects that are not polled, the configuration's warning, and the total.
func TestOncePassReport(t *testing.T) {
	s := newOnceSite(t)
	rep := s.pass(t)
	var b strings.Builder
	rep.WriteTo(&b)
	got := b.String()
	t.Logf("report:\n%s", got)
	if strings.Contains(got, "s3cret") {
		t.Errorf("the password is in the report:\n%s", got)
	}
	// git's own words vary between versions: only their start is pinned.
	got = regexp.MustCompile(`(?m)^(  error    git ls-remote https://user:\*\*\*@127\.0\.0\.1:1/broken\.git: ).+$`).ReplaceAllString(got, "${1}GIT")
	got = jobName.ReplaceAllString(got, "JOB")
	got = strings.NewReplacer(s.repo.Remote, "REPO", s.wd, "WORKDIR", s.cfg, "CONFIG",
		workdir.ShortCommit(s.main), "MAIN", workdir.ShortCommit(s.dev), "DEV", workdir.ShortCommit(s.tag), "TAG").Replace(got)
	want := `warning: CONFIG:22: [empty] watches nothing: neither branches nor tags is set, so polling builds nothing; set one (e.g. branches = main, tags = v.*), or watch = False if only webhooks or pipelined enqueue start its builds
[app] REPO: 5 refs (1 ignored), 3 match
  skipped  refs/heads/dev DEV: already built in WORKDIR/app/refs%2Fheads%2Fdev/DEV
  queued   refs/heads/main MAIN: job JOB
  skipped  refs/tags/v1.0 TAG: already queued as job JOB
  ignored  ref "refs/heads/--upload-pack=x" has a component starting with '-', which could be taken for an option
[same-remote] REPO: 5 refs (1 ignored), none matches branches or tags
  ignored  ref "refs/heads/--upload-pack=x" has a component starting with '-', which could be taken for an option
[broken] https://user:***@127.0.0.1:1/broken.git: failed
  error    git ls-remote https://user:***@127.0.0.1:1/broken.git: GIT
[hooks] not polled: watch = False
[off] not polled: enabled = False
[empty] not polled: neither branches nor tags is set
total: 1 queued, 2 skipped, 0 not written; 2 remotes asked, 1 failed
`
	if got != want {
		t.Errorf("report:\n%s\nwant:\n%s", got, want)
	}
	if !rep.Failed() {
		t.Error("a remote failed, and the report does not say so")
	}
	checkRunningAndNotSuccessful(t, s)
}

// checkRunningAndNotSuccessful: the job just queued, now claimed, is running; a build
// directory that did not succeed is named with its .tmp. No remote fails: nothing failed.
func checkRunningAndNotSuccessful(t *testing.T, s onceSite) {
	t.Helper()
	writeFile(t, s.cfg, "[app]\nremote = "+s.repo.Remote+"\nbranches = main|dev\ntags = v.*\n")
	news, _ := filepath.Glob(filepath.Join(s.layout.SpoolDir(), spool.New, "*"))
	for _, f := range news {
		if j, _ := os.ReadFile(f); strings.Contains(string(j), "refs/heads/main") {
			os.Rename(f, filepath.Join(s.layout.SpoolDir(), spool.Cur, filepath.Base(f)))
		}
	}
	os.Rename(s.built, s.built+workdir.TmpSuffix)
	rep := s.pass(t)
	var b strings.Builder
	rep.WriteTo(&b)
	for _, want := range []string{
		"  skipped  refs/heads/main " + workdir.ShortCommit(s.main) + ": already running as job ",
		"  skipped  refs/heads/dev " + workdir.ShortCommit(s.dev) + ": already built in " + s.built + ".tmp (not successful, or still running)\n",
		"total: 0 queued, 3 skipped, 0 not written; 1 remote asked, 0 failed\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, b.String())
		}
	}
	if rep.Failed() {
		t.Errorf("nothing failed, the report says something did:\n%s", b.String())
	}
}

// A job that cannot be written is an error of its ref, and a failure of the pass.
func TestReportOfAJobThatCannotBeWritten(t *testing.T) {
	repo := testenv.NewRepo(t, nil)
	dir := t.TempDir()
	cfg, err := config.Parse(strings.NewReader("[app]\nremote = "+repo.Remote+"\nbranches = main\n"), "test.ini")
	if err != nil {
		t.Fatal(err)
	}
	layout := workdir.Layout{Root: dir}
	sp, err := spool.Open(layout.SpoolDir())
	if err != nil {
		t.Fatal(err)
	}
	// spool/tmp/ is a file now: as good as a full or read-only disk, even for root.
	tmp := filepath.Join(layout.SpoolDir(), spool.Tmp)
	os.Remove(tmp)
	writeFile(t, tmp, "")
	rep := NewReport()
	rep.begin(cfg, nil)
	w := &Watcher{cfg: cfg, layout: layout, spool: sp, log: discard, rep: rep}
	w.poll(context.Background(), &remote{url: repo.Remote, projects: cfg.Projects}, map[string]string{}, os.Environ())
	var b strings.Builder
	rep.WriteTo(&b)
	want := "  error    refs/heads/main " + workdir.ShortCommit(repo.Head()) + ": cannot write the job: writing a job: "
	if !strings.Contains(b.String(), want) || !strings.Contains(b.String(), "total: 0 queued, 0 skipped, 1 not written; 1 remote asked, 0 failed") {
		t.Errorf("report:\n%s\nwant a line starting %q", b.String(), want)
	}
	if !rep.Failed() {
		t.Error("a job was not written, and the report does not say so")
	}
}

func TestPrintableEscapesControlCharacters(t *testing.T) {
	if got := printable("remote: a\x1b[31mred\rline\u0085"); got != `remote: a\x1b[31mred\x0dline\u0085` {
		t.Errorf("printable = %q", got)
	}
	if got := printable("refs/heads/ünïcode <ok>"); got != "refs/heads/ünïcode <ok>" {
		t.Errorf("printable changed plain text: %q", got)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPrintableHidesFormatCharacters(t *testing.T) {
	for in, want := range map[string]string{
		"refs/heads/main":          "refs/heads/main",
		"refs/heads/ünï":           "refs/heads/ünï",
		"evil\u202egnp.exe":        `evil\u202egnp.exe`,
		"line\nforged":             `line\x0aforged`,
		"a\x1b[31mred":             `a\x1b[31mred`,
		"zero\u200bwidth space ok": `zero\u200bwidth space ok`,
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}
