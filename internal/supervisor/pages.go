package supervisor

import (
	"context"
	"errors"
	"runtime/debug"
	"time"

	"pipelined/internal/page"
)

// refreshPages asks for the status pages to be written again (page package): at start-up,
// and when a build starts or ends. Requests made while the pages are being written make one
// more pass after it.
func (s *supervisor) refreshPages() {
	select {
	case s.pages <- struct{}{}:
	default:
	}
}

// pageDelay is how long the page writer waits after a request before it writes.
const pageDelay = 500 * time.Millisecond

// pageWriter writes the status pages off the main loop: it reads every build.json.
func (s *supervisor) pageWriter(ctx context.Context) {
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.pages:
		}
		// A build that just started writes its build.json a moment later; waiting a little
		// also makes one pass of a burst of requests.
		select {
		case <-ctx.Done():
			return
		case <-time.After(pageDelay):
		}
		err := errors.Join(page.Write(s.layout, s.spool, time.Now()), s.writeEngines())
		// Between builds the daemon only waits: hand back what reading every record took.
		debug.FreeOSMemory()
		switch {
		case err != nil && err.Error() != lastErr:
			s.log.Warn("cannot write the status pages", "error", err.Error())
			lastErr = err.Error()
		case err == nil:
			lastErr = ""
		}
	}
}
