package page

import (
	"math"
	"os"
	"strconv"
	"strings"

	"pipelined/internal/outcome"
	"pipelined/internal/safeopen"
)

// logTailBytes is how much of build.log a build's page holds: the end of a log is where a
// reader looks, and a log may be a gigabyte. The whole log is a link away.
const logTailBytes = 64 << 10

// logTail is the end of a build.log: Text starts at a line's start at offset From, and the
// log was End bytes long when it was read.
type logTail struct {
	Text      string
	From, End int64
}

// readLogTail reads the end of a build.log the careful way (a build could have put a FIFO
// or a link there).
func readLogTail(path string) logTail {
	f, err := safeopen.Open(path, os.O_RDONLY, math.MaxInt64, false)
	if err != nil {
		return logTail{}
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return logTail{}
	}
	end := info.Size()
	from := max(0, end-logTailBytes)
	buf := make([]byte, end-from)
	n, _ := f.ReadAt(buf, from)
	text := string(buf[:n])
	if from > 0 { // start at a line
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text, from = text[i+1:], from+int64(i+1)
		}
	}
	return logTail{Text: strings.ToValidUTF8(text, "\uFFFD"), From: from, End: from + int64(len(text))}
}

// buildPage is a build's own page, BUILD_DIR/index.html: what it built and what started
// it, how it ended, a failure's last lines, and its log — the end of it as it was when the
// page was written, which the script then follows while the build runs, reading build.log
// with Range requests (served over HTTP). Its links are relative to its directory, so
// that they still work when a successful build's directory loses its .tmp.
func buildPage(b build, log logTail) []byte {
	w := &writer{}
	w.head(b.Project+" "+name(b.Ref)+" "+b.Short, false)
	w.raw(`<p><a href="../../../index.html">All projects</a> · <a href="../../index.html">`)
	w.text(b.Project)
	w.raw("</a></p>\n<h1>")
	w.text(b.Project + " " + name(b.Ref))
	w.raw(` <span id="state">`)
	w.result(b.Result)
	w.raw("</span></h1>\n<table>\n<tr><th>commit</th><td>")
	w.commit(b)
	w.raw("</td></tr>\n<tr><th>started</th><td>", when(b.Started), "</td></tr>\n")
	if !b.Finished.IsZero() {
		w.raw("<tr><th>finished</th><td>", when(b.Finished), " after ", b.Duration.String(), "</td></tr>\n")
	}
	if b.Reason != "" {
		w.raw(`<tr><th>why</th><td class="reason">`)
		w.text(b.Reason)
		w.raw("</td></tr>\n")
	}
	w.raw("</table>\n")
	w.output(b.Output)
	w.raw(`<p><a href="build.log">build.log</a> · <a href="build.json">build.json</a>`)
	if b.Drop {
		w.raw(` · <a href="drop/">artifacts</a>`)
	}
	w.raw("</p>\n<h2>Log</h2>\n")
	if log.From > 0 {
		w.raw(`<p class="small">Its last `, strconv.Itoa(logTailBytes>>10), ` KiB; the whole log is <a href="build.log">build.log</a>.</p>`, "\n")
	}
	w.raw(`<pre id="log" data-offset="`, strconv.FormatInt(log.End, 10), `"`)
	if b.Result == outcome.Running {
		w.raw(` data-follow="build.log"`)
	}
	w.raw(">")
	w.text(log.Text)
	w.raw("</pre>")
	w.end()
	return w.Bytes()
}
