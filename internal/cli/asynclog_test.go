package cli

import (
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// blocked is a writer whose reader has stopped: Write waits until released.
type blocked struct {
	mu      sync.Mutex
	release chan struct{}
	got     strings.Builder
}

func (b *blocked) Write(p []byte) (int, error) {
	<-b.release
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.got.Write(p)
}

func TestAsyncWriterNeverBlocksAndCountsWhatItDrops(t *testing.T) {
	b := &blocked{release: make(chan struct{})}
	a := newAsyncWriter(b, 4)
	done := make(chan struct{})
	go func() {
		for i := 0; i < 100; i++ {
			io.WriteString(a, "line\n")
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Write blocked on a stalled reader")
	}
	close(b.release)
	a.flush(10 * time.Second)
	b.mu.Lock()
	out := b.got.String()
	b.mu.Unlock()
	if n := strings.Count(out, "line\n"); n < 4 || n > 6 {
		t.Errorf("%d lines written, want the queue's 4 (and the one being written)", n)
	}
	if !strings.Contains(out, "log lines dropped") {
		t.Errorf("the drops were not reported:\n%s", out)
	}
}
