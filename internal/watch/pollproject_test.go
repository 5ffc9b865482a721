package watch

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"pipelined/internal/config"
	"pipelined/internal/git"
	"pipelined/internal/recorded"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// newTestWatcher is a watcher of cfgText over an empty work directory, with a report.
func newTestWatcher(t *testing.T, cfgText string) (*Watcher, *config.Config) {
	t.Helper()
	cfg, err := config.Parse(strings.NewReader(cfgText), "test.ini")
	if err != nil {
		t.Fatal(err)
	}
	layout := workdir.Layout{Root: t.TempDir()}
	sp, err := spool.Open(layout.SpoolDir())
	if err != nil {
		t.Fatal(err)
	}
	rep := NewReport()
	rep.begin(cfg, nil)
	return &Watcher{cfg: cfg, layout: layout, spool: sp, log: discard, rep: rep, jobKeys: map[string]string{}}, cfg
}

// queuedJobs lists the spool's new/ as "project ref commit", sorted.
func queuedJobs(t *testing.T, w *Watcher) []string {
	t.Helper()
	entries, err := w.spool.List(spool.New)
	if err != nil {
		t.Fatal(err)
	}
	var jobs []string
	for _, e := range entries {
		j, err := w.spool.Read(spool.New, e.Name)
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j.Project+" "+j.Ref+" "+workdir.ShortCommit(j.Commit))
	}
	slices.Sort(jobs)
	return jobs
}

// TestTheFirstPollWithoutBuildExistingRecordsThenBuildsWhatComes: with build_existing =
// False, the first poll records every ref it builds and queues none; the poll after it
// queues a new commit and a new ref, and skips what was recorded. A project without the key
// queues its refs at once.
func TestTheFirstPollWithoutBuildExistingRecordsThenBuildsWhatComes(t *testing.T) {
	w, cfg := newTestWatcher(t, "[quiet]\nremote = /r\nbranches = main|dev\nbuild_existing = False\n\n[eager]\nremote = /r\nbranches = main|dev\n")
	quiet, eager := cfg.Projects[0], cfg.Projects[1]
	w.rep.listed(&remote{url: "/r", projects: cfg.Projects}, 3, nil)
	first := []git.Ref{{Name: "refs/heads/main", Commit: commitOf('a')}, {Name: "refs/heads/dev", Commit: commitOf('b')},
		{Name: "refs/heads/other", Commit: commitOf('c')}}
	w.pollProject(quiet, first, nil, true)
	w.pollProject(eager, first, nil, true)
	if got, want := queuedJobs(t, w), []string{"eager refs/heads/dev bbbbbbbb", "eager refs/heads/main aaaaaaaa"}; !slices.Equal(got, want) {
		t.Errorf("first poll queued %q, want %q", got, want)
	}
	for _, ref := range first[:2] {
		if !exists(w.layout.RecordedPath("quiet", ref.Name, ref.Commit)) {
			t.Errorf("%s was not recorded", ref.Name)
		}
	}
	if exists(w.layout.RecordedPath("quiet", "refs/heads/other", commitOf('c'))) {
		t.Error("a ref the project does not build was recorded")
	}
	if !recorded.Polled(w.layout, "quiet") || recorded.Polled(w.layout, "eager") {
		t.Errorf("polled: quiet %v, eager %v", recorded.Polled(w.layout, "quiet"), recorded.Polled(w.layout, "eager"))
	}

	second := []git.Ref{{Name: "refs/heads/main", Commit: commitOf('d')}, {Name: "refs/heads/dev", Commit: commitOf('b')}}
	w.pollProject(quiet, second, nil, true)
	w.pollProject(quiet, []git.Ref{{Name: "refs/heads/dev", Commit: commitOf('b')}}, nil, true) // a third
	if got := queuedJobs(t, w); !slices.Contains(got, "quiet refs/heads/main dddddddd") || len(got) != 3 {
		t.Errorf("after the first poll, queued %q; want quiet's new commit of main beside eager's two", got)
	}
	var b strings.Builder
	w.rep.WriteTo(&b)
	if n := strings.Count(b.String(), "  skipped  refs/heads/dev bbbbbbbb: recorded without a build in "); n != 2 {
		t.Errorf("the recorded commit was skipped %d times in the report, want 2:\n%s", n, b.String())
	}
	if strings.Count(b.String(), "  recorded ") != 2 {
		t.Errorf("the report:\n%s", b.String())
	}
}

func exists(path string) bool { _, err := os.Lstat(path); return err == nil }

// fakeGitHub answers the list of open pull requests of o/r as GitHub does, with the open
// requests of open (number → head) and, beside them, a closed one that a forge ignoring
// state=open would send. fail, while set, is its answer instead.
func fakeGitHub(t *testing.T, open map[int]string, fail *string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/repos/o/r/pulls" || r.URL.Query().Get("state") != "open" {
			t.Errorf("not the list of open requests: %s", r.URL)
		}
		if *fail != "" {
			http.Error(rw, *fail, http.StatusBadGateway)
			return
		}
		items := []string{fmt.Sprintf(`{"number":1,"state":"closed","head":{"sha":%q}}`, commitOf('1'))}
		for n, head := range open {
			items = append(items, fmt.Sprintf(`{"number":%d,"state":"open","head":{"sha":%q}}`, n, head))
		}
		fmt.Fprint(rw, "["+strings.Join(items, ",")+"]")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestPullRequestsAreBuiltWhileOpenAndTheirErrorsLoggedOnce: a project with pull_requests
// builds the heads of the forge's open requests, once per head; a project without it asks
// the forge nothing; the forge's error is logged once while it lasts, then its recovery.
func TestPullRequestsAreBuiltWhileOpenAndTheirErrorsLoggedOnce(t *testing.T) {
	var fail string
	srv := fakeGitHub(t, map[int]string{7: commitOf('7')}, &fail)
	token := filepath.Join(t.TempDir(), "token")
	writeFile(t, token, "secret\n")
	forge := "forge = github\nforge.url = " + srv.URL + "\nforge.repo = o/r\nforge.token_file = " + token + "\n"
	w, cfg := newTestWatcher(t, "[pulls]\nremote = /r\nbranches = main\npull_requests = True\n"+forge+"\n[plain]\nremote = /r\nbranches = main\n"+forge)
	var log bytes.Buffer
	w.log = slog.New(slog.NewTextHandler(&log, nil))
	pulls, plain := cfg.Projects[0], cfg.Projects[1]
	if refs, listed := w.pullRequestRefs(context.Background(), plain); refs != nil || !listed {
		t.Errorf("a project without pull_requests: %v", refs)
	}
	for range 2 {
		prs, _ := w.pullRequestRefs(context.Background(), pulls)
		w.pollProject(pulls, prs, w.pending(), true)
	}
	if got := queuedJobs(t, w); !slices.Equal(got, []string{"pulls refs/pull/7/head 77777777"}) {
		t.Errorf("queued %q, want the open request's head once", got)
	}
	fail = "upstream down"
	for range 3 {
		if refs, listed := w.pullRequestRefs(context.Background(), pulls); refs != nil || listed {
			t.Errorf("a failing forge gave %v", refs)
		}
	}
	fail = ""
	w.pullRequestRefs(context.Background(), pulls)
	if n := strings.Count(log.String(), "cannot list the open pull requests"); n != 1 {
		t.Errorf("a forge that failed three times was logged %d times:\n%s", n, log.String())
	}
	if n := strings.Count(log.String(), "lists the open pull requests again"); n != 1 {
		t.Errorf("the recovery was logged %d times:\n%s", n, log.String())
	}
}

// TestPendingSaysWhereEachJobIs: a job in new/ is queued, in cur/ running, each under its
// file's name; a job gone is forgotten, and a file that is no job is passed over.
func TestPendingSaysWhereEachJobIs(t *testing.T) {
	w, _ := newTestWatcher(t, "[app]\nremote = /r\nbranches = main\n")
	job := spool.Job{Project: "app", Ref: "refs/heads/main", Commit: commitOf('a')}
	name, err := w.spool.Write(job)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(w.layout.SpoolDir(), spool.New, "junk.job"), "{not json")
	if got := w.pending(); len(got) != 1 || got[job.Key()] != "queued as job "+name {
		t.Errorf("queued: %q", got)
	}
	cur := filepath.Join(w.layout.SpoolDir(), spool.Cur, name)
	if err := os.Rename(filepath.Join(w.layout.SpoolDir(), spool.New, name), cur); err != nil {
		t.Fatal(err)
	}
	if got := w.pending(); len(got) != 1 || got[job.Key()] != "running as job "+name {
		t.Errorf("claimed: %q", got)
	}
	os.Remove(cur)
	if got := w.pending(); len(got) != 0 || len(w.jobKeys) != 0 {
		t.Errorf("after the job's end: %q, remembered %q", got, w.jobKeys)
	}
}

// TestTheFirstPollRecordsPullRequestsEvenAfterAFailedList: with build_existing = False, a
// first poll whose list of pull requests failed is not the first poll yet: the requests
// open then are recorded by the poll that lists them, not built as new ones.
func TestTheFirstPollRecordsPullRequestsEvenAfterAFailedList(t *testing.T) {
	fail := "upstream down"
	srv := fakeGitHub(t, map[int]string{7: commitOf('7')}, &fail)
	token := filepath.Join(t.TempDir(), "token")
	writeFile(t, token, "secret\n")
	w, cfg := newTestWatcher(t, "[quiet]\nremote = /r\nbranches = main\nbuild_existing = False\npull_requests = True\n"+
		"forge = github\nforge.url = "+srv.URL+"\nforge.repo = o/r\nforge.token_file = "+token+"\n")
	w.log = slog.New(slog.DiscardHandler)
	p := cfg.Projects[0]
	branches := []git.Ref{{Name: "refs/heads/main", Commit: commitOf('a')}}
	for _, answer := range []string{"upstream down", ""} {
		fail = answer
		prs, listed := w.pullRequestRefs(context.Background(), p)
		w.pollProject(p, slices.Concat(branches, prs), nil, listed)
		if answer != "" && recorded.Polled(w.layout, "quiet") {
			t.Fatal("a poll without the list of pull requests counted as the first")
		}
	}
	if got := queuedJobs(t, w); len(got) != 0 {
		t.Errorf("queued %q: the request open at the first poll was built", got)
	}
	if !recorded.Polled(w.layout, "quiet") || !exists(w.layout.RecordedPath("quiet", "refs/pull/7/head", commitOf('7'))) {
		t.Error("the request was not recorded")
	}
}
