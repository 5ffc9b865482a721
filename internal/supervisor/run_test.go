package supervisor

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/testenv"
)

// syncBuffer is a log sink the test reads while the daemon writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRunJoinsEveryGoroutineItStarts: when Run returns, nothing it started runs on (the
// spool's watch, the configuration's, the page writer, the pruner, the executors): the
// goroutines are back to what they were before it.
func TestRunJoinsEveryGoroutineItStarts(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pipelined.ini")
	if err := os.WriteFile(cfg, []byte("[p]\nremote = "+dir+"/repo.git\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := goruntime.NumGoroutine()
	var logged syncBuffer
	sigs := make(chan os.Signal, 4)
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), Options{Config: cfg, Workdir: filepath.Join(dir, "work"), Limit: 1,
			Logger: slog.New(slog.NewTextHandler(&logged, nil)), Build: "/bin/false", Watch: "/bin/false", Signals: sigs})
	}()
	testenv.Eventually(t, time.Minute, "the daemon did not start", func() bool { return strings.Contains(logged.String(), "msg=started") })
	sigs <- syscall.SIGHUP
	sigs <- syscall.SIGTERM
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v\n%s", err, logged.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("Run did not return after SIGTERM\n%s", logged.String())
	}
	// The goroutine that ran Run has ended too; give the runtime a moment to count it out.
	testenv.Eventually(t, 10*time.Second, "goroutines outlived Run", func() bool { return goruntime.NumGoroutine() <= before })
}
