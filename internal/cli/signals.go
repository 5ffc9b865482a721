package cli

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"pipelined/internal/exitcode"
)

// CancelOnSignals returns a context that the first of sigs cancels, and a function that
// reports that signal as a *SignalError (nil if none came). After the first signal the
// handler is gone, so a second one has its default effect and ends the process at once: an
// operator who asks twice gets what they asked for. Call stop when done.
func CancelOnSignals(parent context.Context, sigs ...os.Signal) (ctx context.Context, caught func() error, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	var mu sync.Mutex
	var got *exitcode.SignalError
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			signal.Stop(ch)
			mu.Lock()
			got = &exitcode.SignalError{Signal: s.(syscall.Signal)}
			mu.Unlock()
			cancel()
		case <-done:
		}
	}()
	caught = func() error {
		mu.Lock()
		defer mu.Unlock()
		if got == nil {
			return nil
		}
		return got
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
			cancel()
		})
	}
	return ctx, caught, stop
}

// SurviveBrokenPipes keeps a long-running program alive when whatever reads its stdout or
// stderr goes away (a `| tee` ended, a closed ssh session, a daemon that died): its writes
// then fail with EPIPE instead of killing it with SIGPIPE. The signal is caught, not
// ignored: an ignored signal stays ignored in every command started from here, and a
// build's `yes | head` must behave as it does when typed.
func SurviveBrokenPipes() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
}
