package spool

import (
	"context"
	"errors"
	"fmt"

	"github.com/fsnotify/fsnotify"
)

// Notifier tells its owner that new/ may have changed. Events are only hints: the owner
// lists the directory when told, and also on a timer, so a lost event costs latency, never
// a job (inotify drops events when its queue overflows).
type Notifier struct {
	w *fsnotify.Watcher
	C <-chan struct{} // receives when new/ may have new files; never blocks the sender
	c chan struct{}
}

// Notify starts watching new/. Call it before listing new/ for the first time, so that a
// job delivered in between is seen by one or the other.
func (s *Spool) Notify() (*Notifier, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watching the spool: %w", err)
	}
	if err := w.Add(s.Path(New, "")); err != nil {
		w.Close()
		return nil, fmt.Errorf("watching the spool: %w", err)
	}
	c := make(chan struct{}, 1)
	return &Notifier{w: w, C: c, c: c}, nil
}

// Run delivers hints until ctx ends, then closes the watch. A rename into new/ arrives as
// Create; an overflow or any watch error is a hint too, for a full rescan.
func (n *Notifier) Run(ctx context.Context, onError func(error)) {
	defer n.w.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-n.w.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Write) {
				n.hint()
			}
		case err, ok := <-n.w.Errors:
			if !ok {
				return
			}
			if !errors.Is(err, fsnotify.ErrEventOverflow) && onError != nil {
				onError(err)
			}
			n.hint()
		}
	}
}

func (n *Notifier) hint() {
	select {
	case n.c <- struct{}{}:
	default: // a hint is already pending
	}
}
