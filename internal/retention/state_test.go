package retention

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/workdir"
)

func TestTheStateIsTheNewestDecisiveBuild(t *testing.T) {
	b := func(result string, retry bool) Build {
		return Build{Dir: result, Status: &buildlog.Status{Result: result, Retry: retry}}
	}
	for _, tc := range []struct {
		name   string
		builds []Build
		want   int
	}{
		{"none", nil, -1},
		{"newest decides", []Build{b("failed", false), b("success", false)}, 0},
		{"a canceled rebuild hides nothing", []Build{b("canceled", false), b("success", false)}, 1},
		{"nor a skipped or a retried one", []Build{b("skipped", false), b("failed", true), b("failed", false)}, 2},
		{"nor one running", []Build{b("running", false), b("success", false)}, 1},
		{"no decisive build: the newest", []Build{b("canceled", false), {Dir: "unreadable"}}, 0},
	} {
		if got := State(tc.builds); got != tc.want {
			t.Errorf("%s: State = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestReadStateLooksPastTheRecentBuilds: when none of the n most recent builds decides, an
// older one does.
func TestReadStateLooksPastTheRecentBuilds(t *testing.T) {
	refDir := t.TempDir()
	at := time.Now().Add(-time.Hour)
	for i, result := range []string{"success", "canceled", "canceled", "canceled"} {
		dir := filepath.Join(refDir, "build"+string(rune('a'+i)))
		os.Mkdir(dir, 0o755)
		st := &buildlog.Status{Result: result, Started: at.Add(time.Duration(i) * time.Minute)}
		if err := st.Save(workdir.StatusPath(dir)); err != nil {
			t.Fatal(err)
		}
		mtime := at.Add(time.Duration(i) * time.Minute)
		os.Chtimes(dir, mtime, mtime)
	}
	recent, count, state, ok := ReadState(refDir, 2)
	if !ok || count != 4 || len(recent) != 2 || filepath.Base(state.Dir) != "builda" || filepath.Base(recent[0].Dir) != "buildd" {
		t.Errorf("ReadState = %d recent (newest %v), %d, state %s, %v", len(recent), recent, count, state.Dir, ok)
	}
	if _, _, _, ok := ReadState(filepath.Join(refDir, "missing"), 2); ok {
		t.Errorf("ReadState of no builds is ok")
	}
}
