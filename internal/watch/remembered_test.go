package watch

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"pipelined/internal/workdir"
)

// TestNextRemoteState: a remote's first error, or one that differs from the last in more
// than its numbers, is news (logged) and starts a count; the same error again is counted
// only; an answer after errors is news once and forgets them; an answer after answers is
// nothing.
func TestNextRemoteState(t *testing.T) {
	since, now := t0, t0.Add(time.Hour)
	failing := remoteState{Error: "timed out after 3001 ms", Since: since, Failed: 4}
	for _, tc := range []struct {
		name string
		last remoteState
		msg  string
		next remoteState
		news remoteNews
	}{
		{"answers", remoteState{}, "", remoteState{}, remoteAnswers},
		{"answers again", failing, "", remoteState{}, remoteAnswersAgain},
		{"first error", remoteState{}, "connection refused", remoteState{Error: "connection refused", Since: now, Failed: 1}, remoteFails},
		{"the same error", failing, "timed out after 3001 ms", remoteState{Error: failing.Error, Since: since, Failed: 5}, remoteFailsAgain},
		{"the same error, other numbers", failing, "timed out after 29 ms", remoteState{Error: failing.Error, Since: since, Failed: 5}, remoteFailsAgain},
		{"another error", failing, "could not resolve host", remoteState{Error: "could not resolve host", Since: now, Failed: 1}, remoteFails},
		{"more words", failing, "timed out after 3001 ms twice", remoteState{Error: "timed out after 3001 ms twice", Since: now, Failed: 1}, remoteFails},
	} {
		next, news := nextRemoteState(tc.last, tc.msg, now)
		if next != tc.next || news != tc.news {
			t.Errorf("%s: %+v %d, want %+v %d", tc.name, next, news, tc.next, tc.news)
		}
	}
}

// TestSameErrorIgnoresNumbersOnly.
func TestSameErrorIgnoresNumbersOnly(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"port 4711 refused", "port 4711 refused", true},
		{"port 4711 refused", "port 80 refused", true},
		{"after 3001 ms", "after 3001 s", false},
		{"refused", "Refused", false},
		{"", "", true},
	} {
		if got := sameError(tc.a, tc.b); got != tc.same {
			t.Errorf("sameError(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

// TestPullErrorsAreNewsOncePerChange: a project's failing list of pull requests is logged
// when its error changes, not at every poll, and its recovery once; each project apart.
func TestPullErrorsAreNewsOncePerChange(t *testing.T) {
	var e pullErrors
	steps := []struct {
		project string
		err     error
		news    remoteNews
	}{
		{"a", nil, remoteAnswers},
		{"a", errors.New("401 Bad credentials"), remoteFails},
		{"a", errors.New("401 Bad credentials"), remoteFailsAgain},
		{"b", errors.New("401 Bad credentials"), remoteFails}, // another project's error is its own
		{"a", errors.New("502 Bad Gateway"), remoteFails},
		{"a", nil, remoteAnswersAgain},
		{"a", nil, remoteAnswers},
		{"a", errors.New("502 Bad Gateway"), remoteFails}, // the same error after a recovery is new
		{"b", errors.New("401 Bad credentials"), remoteFailsAgain},
	}
	for i, s := range steps {
		if got := e.note(s.project, s.err); got != s.news {
			t.Errorf("step %d (%s, %v): %d, want %d", i+1, s.project, s.err, got, s.news)
		}
	}
}

// TestRemoteStateOutlivesAPassAndGoesWithTheError: a remote's error is kept in a file
// whose name does not show the URL (it may hold a password), read back by the next pass;
// an answer removes the file, and a file that cannot be read counts as no error.
func TestRemoteStateOutlivesAPassAndGoesWithTheError(t *testing.T) {
	layout := workdir.Layout{Root: t.TempDir()}
	url := "https://user:s3cret@git.example.org/p.git"
	st := remoteState{Error: "connection refused", Since: t0, Failed: 3}
	saveRemoteState(layout, url, st)
	path := remoteStatePath(layout, url)
	if strings.Contains(path, "s3cret") || strings.Contains(path, "example") {
		t.Errorf("the file's name shows the URL: %s", path)
	}
	if got := loadRemoteState(layout, url); got.Error != st.Error || !got.Since.Equal(t0) || got.Failed != 3 {
		t.Errorf("read back %+v, want %+v", got, st)
	}
	if got := loadRemoteState(layout, "https://git.example.org/other.git"); got != (remoteState{}) {
		t.Errorf("another remote has the state %+v", got)
	}
	saveRemoteState(layout, url, remoteState{})
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("an answer left the file: %v", err)
	}
	writeFile(t, path, "{not json")
	if got := loadRemoteState(layout, url); got != (remoteState{}) {
		t.Errorf("a broken file read as %+v", got)
	}
}
