package buildlog

import (
	"path/filepath"
	"testing"
	"time"

	"pipelined/internal/procexec"
)

// BenchmarkLogLines writes what pipelined adds to build.log around one command.
func BenchmarkLogLines(b *testing.B) {
	l, err := Create(filepath.Join(b.TempDir(), "build.log"), func(s string) string { return s })
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	argv := []string{"git", "--no-pager", "-C", "/var/pipelined/web/refs%2Fheads%2Fmain/5bf417f5.tmp", "clone", "--", "git@example.com:web.git", "build"}
	res := procexec.Result{ExitCode: 0, Duration: 1234 * time.Millisecond}
	now := time.Now()
	for b.Loop() {
		l.Step("clone", now)
		l.Prompt(argv)
		l.Exit(res, nil)
	}
}
