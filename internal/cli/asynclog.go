package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// NewAsyncLogger is NewLogger for the daemon, whose main loop must never wait on I/O
// (SPEC §8): log lines are queued and written by a goroutine of their own, so that a
// stalled journald or a stopped reader of stderr delays nothing. When the queue is full,
// lines are dropped and counted, and the count is logged once lines flow again. flush
// writes what is queued, waiting at most the time it is given; call it before exiting.
func NewAsyncLogger(f *os.File) (log *slog.Logger, flush func(time.Duration)) {
	a := newAsyncWriter(f, asyncLogLines)
	return newLogger(a, isJournal(f)), a.flush
}

// asyncLogLines is how many lines the queue holds: a few seconds of a busy daemon.
const asyncLogLines = 4096

type asyncWriter struct {
	w       io.Writer
	lines   chan []byte
	pending sync.WaitGroup // lines queued and not yet written
	mu      sync.Mutex
	dropped int
}

func newAsyncWriter(w io.Writer, size int) *asyncWriter {
	a := &asyncWriter{w: w, lines: make(chan []byte, size)}
	go a.run()
	return a
}

// Write queues a copy of p (slog writes each record whole, in one Write) and never blocks.
func (a *asyncWriter) Write(p []byte) (int, error) {
	a.pending.Add(1)
	select {
	case a.lines <- append([]byte(nil), p...):
	default:
		a.pending.Done()
		a.mu.Lock()
		a.dropped++
		a.mu.Unlock()
	}
	return len(p), nil
}

func (a *asyncWriter) run() {
	for line := range a.lines {
		a.w.Write(line)
		a.mu.Lock()
		dropped := a.dropped
		a.dropped = 0
		a.mu.Unlock()
		if dropped > 0 {
			fmt.Fprintf(a.w, "level=WARN msg=\"log lines dropped: the log's reader did not keep up\" dropped=%d\n", dropped)
		}
		a.pending.Done()
	}
}

// flush waits until every queued line is written, or at most timeout.
func (a *asyncWriter) flush(timeout time.Duration) {
	done := make(chan struct{})
	go func() { a.pending.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}
