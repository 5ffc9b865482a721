package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
)

// NewLogger returns the daemon logger of SPEC §8: one line per event on w, key=value pairs
// with untrusted strings quoted (a crafted ref cannot forge a line). When w is the
// journal (JOURNAL_STREAM names it) each line gets a "<N>" priority prefix and no time
// stamp, since journald adds its own.
func NewLogger(w *os.File) *slog.Logger { return newLogger(w, isJournal(w)) }

// newLogger is NewLogger on any writer; journal says whether it leads to the journal.
func newLogger(w io.Writer, journal bool) *slog.Logger {
	opts := &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if journal && len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}
	if !journal {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(&priorityHandler{w: w, opts: opts, mu: &sync.Mutex{}})
}

// isJournal reports whether f is the stream $JOURNAL_STREAM ("DEVICE:INODE") names.
func isJournal(f *os.File) bool {
	dev, ino, ok := strings.Cut(os.Getenv("JOURNAL_STREAM"), ":")
	if !ok {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return fmt.Sprint(st.Dev) == dev && fmt.Sprint(st.Ino) == ino
}

// priorityHandler writes slog's text format with sd-daemon(3) priority prefixes.
type priorityHandler struct {
	w     io.Writer
	opts  *slog.HandlerOptions
	attrs []slog.Attr
	group string
	mu    *sync.Mutex
}

func (h *priorityHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *priorityHandler) Handle(ctx context.Context, r slog.Record) error {
	var buf bytes.Buffer
	var inner slog.Handler = slog.NewTextHandler(&buf, h.opts)
	if len(h.attrs) > 0 {
		inner = inner.WithAttrs(h.attrs)
	}
	if h.group != "" {
		inner = inner.WithGroup(h.group)
	}
	if err := inner.Handle(ctx, r); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := fmt.Fprintf(h.w, "<%d>%s", priority(r.Level), buf.Bytes())
	return err
}

func (h *priorityHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &c
}

func (h *priorityHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.group = name
	return &c
}

// priority maps slog levels to syslog priorities: err, warning, info, debug.
func priority(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3
	case l >= slog.LevelWarn:
		return 4
	case l >= slog.LevelInfo:
		return 6
	default:
		return 7
	}
}

// MinLevel returns a logger that passes on the records of log at level or above, and drops
// the others: pipeline-watch --once keeps only its errors on stderr, as its report on
// stdout says the rest.
func MinLevel(log *slog.Logger, level slog.Level) *slog.Logger {
	return slog.New(minLevel{log.Handler(), level})
}

type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(attrs), h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.level}
}
