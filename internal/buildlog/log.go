package buildlog

import (
	"errors"
	"fmt"
	"os"
	"time"

	"pipelined/internal/procexec"
)

// Log is an open build.log.
type Log struct {
	f      *os.File // appends; commands write their output here too
	r      *os.File // reads the last byte, to start pipelined's lines on a fresh line
	redact func(string) string
}

// Create opens path for appending (creating it if needed). Every line Log writes itself
// passes through redact, which removes secret values.
func Create(path string, redact func(string) string) (*Log, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
	if err != nil {
		return nil, err
	}
	r, err := os.Open(path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Log{f: f, r: r, redact: redact}, nil
}

// File is the file commands write their output to directly: no copy through this process,
// so memory stays flat however much a step prints, and a reader sees it as it comes.
func (l *Log) File() *os.File { return l.f }

// Size is the length of the log so far: where the output of the next command begins.
func (l *Log) Size() int64 {
	info, err := l.f.Stat()
	if err != nil {
		return 0
	}
	return info.Size()
}

// Since returns what the log holds from offset on, at most its last max bytes.
func (l *Log) Since(offset int64, max int) string {
	end := l.Size()
	if end-offset > int64(max) {
		offset = end - int64(max)
	}
	if end <= offset {
		return ""
	}
	buf := make([]byte, end-offset)
	n, _ := l.r.ReadAt(buf, offset)
	return string(buf[:n])
}

// Close closes the file.
func (l *Log) Close() error {
	l.r.Close()
	return l.f.Close()
}

// Step marks the start of a step.
func (l *Log) Step(name string, at time.Time) {
	l.line("==> step %s at %s", name, at.UTC().Format(time.RFC3339))
}

// Prompt writes the command about to run.
func (l *Log) Prompt(argv []string) { l.line("%s", procexec.Prompt(argv)) }

// Note writes a line of pipelined's own.
func (l *Log) Note(format string, args ...any) { l.line("==> "+format, args...) }

// Exit writes how a command ended.
func (l *Log) Exit(res procexec.Result, err error) {
	l.line("==> %s after %s", Outcome(res, err), round(res.Duration))
}

// Result writes the build's result line.
func (l *Log) Result(result string, took time.Duration, reason string) {
	if reason != "" {
		l.line("==> result %s after %s: %s", result, round(took), reason)
		return
	}
	l.line("==> result %s after %s", result, round(took))
}

// Outcome describes how a command ended, in a few words.
func Outcome(res procexec.Result, err error) string {
	var exit *procexec.ExitError
	switch {
	case res.TimedOut:
		return "timed out"
	case res.Canceled:
		return "canceled"
	case errors.As(err, &exit) && exit.Signal != 0:
		return "killed by " + procexec.SignalText(exit.Signal)
	case err != nil && res.Pid == 0:
		return "did not start: " + err.Error()
	default:
		return fmt.Sprintf("exit %d", res.ExitCode)
	}
}

// line writes one line of pipelined's own, starting it on a fresh line even if the last
// command's output did not end with a newline.
func (l *Log) line(format string, args ...any) {
	text := l.redact(fmt.Sprintf(format, args...)) + "\n"
	if !l.atLineStart() {
		text = "\n" + text
	}
	_, _ = l.f.WriteString(text)
}

func (l *Log) atLineStart() bool {
	info, err := l.f.Stat()
	if err != nil || info.Size() == 0 {
		return true
	}
	last := make([]byte, 1)
	if _, err := l.r.ReadAt(last, info.Size()-1); err != nil {
		return true
	}
	return last[0] == '\n'
}

func round(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
