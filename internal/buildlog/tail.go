package buildlog

import (
	"strings"
)

// Bounds of the failing step's output that build.json keeps (Status.FailedOutput): enough
// for rsync's or the compiler's own last words, little enough for every reader of build.json.
const (
	TailLines = 20
	TailBytes = 4 << 10
)

// Tail returns the last lines of what the log holds between the offsets from and to (a
// command's output): at most TailLines lines and TailBytes bytes, each as a terminal would
// have left it (what follows its last carriage return: progress meters), blank lines left
// out, valid UTF-8, and through the log's redactor, which masks secret values as it does in
// pipelined's own lines.
func (l *Log) Tail(from, to int64) []string {
	if to-from > TailBytes {
		from = to - TailBytes
	}
	if to <= from {
		return nil
	}
	buf := make([]byte, to-from)
	n, _ := l.r.ReadAt(buf, from)
	return tailLines(string(buf[:n]), from > 0 && !l.lineStartAt(from), l.redact)
}

// lineStartAt reports whether offset begins a line of the log.
func (l *Log) lineStartAt(offset int64) bool {
	last := make([]byte, 1)
	if _, err := l.r.ReadAt(last, offset-1); err != nil {
		return true
	}
	return last[0] == '\n'
}

// tailLines splits text into its last non-blank lines, dropping the first when it is the end
// of a line that began before text (the rest of it could be half a secret). Each line is
// redacted as it was printed, before anything changes it (a secret that is not valid UTF-8
// would no longer match).
func tailLines(text string, partialFirst bool, redact func(string) string) []string {
	lines := strings.Split(text, "\n")
	if partialFirst {
		lines = lines[1:]
	}
	var out []string
	for _, line := range lines {
		line = redact(line)
		if i := strings.LastIndexByte(strings.TrimRight(line, "\r"), '\r'); i >= 0 {
			line = line[i+1:]
		}
		line = strings.TrimRight(strings.ToValidUTF8(line, "\uFFFD"), " \t\r")
		if line != "" {
			out = append(out, line)
		}
	}
	return out[max(0, len(out)-TailLines):]
}
