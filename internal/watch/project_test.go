package watch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pipelined/internal/config"
	"pipelined/internal/recorded"
	"pipelined/internal/spool"
	"pipelined/internal/testenv"
	"pipelined/internal/workdir"
)

// TestARecordThatCannotBeWrittenKeepsTheFirstPollOpen: when the marker of a commit cannot
// be written, the report says so, nothing is queued, and the first poll is not marked over,
// so that the next poll records again rather than builds.
func TestARecordThatCannotBeWrittenKeepsTheFirstPollOpen(t *testing.T) {
	repo := testenv.NewRepo(t, nil)
	cfg, err := config.Parse(strings.NewReader("[app]\nremote = "+repo.Remote+"\nbranches = main\nbuild_existing = False\n"), "test.ini")
	if err != nil {
		t.Fatal(err)
	}
	layout := workdir.Layout{Root: t.TempDir()}
	sp, err := spool.Open(layout.SpoolDir())
	if err != nil {
		t.Fatal(err)
	}
	// The ref's directory is a file: no marker can be written below it, even by root.
	refDir := layout.RefDir("app", "refs/heads/main")
	os.MkdirAll(filepath.Dir(refDir), 0o755)
	writeFile(t, refDir, "")
	rep := NewReport()
	rep.begin(cfg, nil)
	w := &Watcher{cfg: cfg, layout: layout, spool: sp, log: discard, rep: rep}
	poll := func() string {
		w.poll(context.Background(), &remote{url: repo.Remote, projects: cfg.Projects}, map[string]string{}, os.Environ())
		var b strings.Builder
		rep.WriteTo(&b)
		return b.String()
	}
	if out := poll(); !strings.Contains(out, "  error    refs/heads/main "+workdir.ShortCommit(repo.Head())+": cannot record it: ") {
		t.Errorf("report:\n%s", out)
	}
	if recorded.Polled(layout, "app") {
		t.Errorf("the first poll was marked over although a record failed")
	}
	if jobs, _ := sp.List(spool.New); len(jobs) != 0 {
		t.Errorf("jobs were queued: %v", jobs)
	}
	// Once the directory can be made, the next poll records, and the first poll is over.
	os.Remove(refDir)
	rep = NewReport()
	rep.begin(cfg, nil)
	w.rep = rep
	if out := poll(); !strings.Contains(out, "  recorded refs/heads/main ") || !recorded.Polled(layout, "app") {
		t.Errorf("second poll:\n%s", out)
	}
}
