package watch

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"pipelined/internal/workdir"
)

// TestARepeatedErrorIsLoggedOnceThenCounted: a remote that fails the same way at every
// poll — numbers aside, as git's "after 3001 ms" — is logged once, even across passes of
// pipeline-watch --once; its recovery is logged with the count of polls that failed.
func TestARepeatedErrorIsLoggedOnceThenCounted(t *testing.T) {
	layout := workdir.Layout{Root: t.TempDir()}
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	url := "https://user:s3cret@git.example.org/p.git"
	for i, msg := range []string{"connection timed out after 3001 ms", "connection timed out after 3012 ms", "connection timed out after 2999 ms"} {
		w := &Watcher{o: Options{RememberErrors: true}, layout: layout, log: log} // a pass of its own each time
		w.report(url, errors.New(msg))
		if n := strings.Count(out.String(), "cannot list the remote"); n != 1 {
			t.Fatalf("after %d failures, %d error lines:\n%s", i+1, n, out.String())
		}
	}
	(&Watcher{o: Options{RememberErrors: true}, layout: layout, log: log}).report(url, errors.New("Could not resolve host: git.example.org"))
	if n := strings.Count(out.String(), "cannot list the remote"); n != 2 || !strings.Contains(out.String(), "after_failed_polls=3") {
		t.Errorf("a new error is not logged with the count of the last:\n%s", out.String())
	}
	(&Watcher{o: Options{RememberErrors: true}, layout: layout, log: log}).report(url, nil)
	if !strings.Contains(out.String(), "remote answers again") || !strings.Contains(out.String(), "failed_polls=1") {
		t.Errorf("the recovery is not logged with its count:\n%s", out.String())
	}
	(&Watcher{o: Options{RememberErrors: true}, layout: layout, log: log}).report(url, nil)
	if n := strings.Count(out.String(), "answers again"); n != 1 {
		t.Errorf("a remote that answers is logged %d times", n)
	}
	if strings.Contains(out.String(), "s3cret") {
		t.Errorf("the log shows the password:\n%s", out.String())
	}
}
