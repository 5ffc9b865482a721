package watch

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"pipelined/internal/atomicfile"
	"pipelined/internal/safeopen"
	"pipelined/internal/workdir"
)

// A remote's last error outlives one pass of pipeline-watch --once: the daemon runs a pass
// per interval, and a remote that fails every interval is logged once, not every interval
// (SPEC §6). It is kept in .pipelined/remotes/, a small file per remote named by a hash of
// its URL (which may hold a password).

// remoteState is what the last polls of a remote said.
type remoteState struct {
	Error  string    `json:"error,omitempty"`  // the last error, as logged ("" when it answers)
	Since  time.Time `json:"since,omitzero"`   // when that error was first seen
	Failed int       `json:"failed,omitempty"` // polls that failed with it since
}

// maxRemoteState bounds a remote's state file: an error message and two numbers.
const maxRemoteState = 64 << 10

// remoteStatePath is the file of a remote's state.
func remoteStatePath(layout workdir.Layout, url string) string {
	sum := sha256.Sum256([]byte(url))
	return filepath.Join(layout.StateDir(), "remotes", hex.EncodeToString(sum[:12]))
}

func loadRemoteState(layout workdir.Layout, url string) remoteState {
	var st remoteState
	// A FIFO planted here would block a plain read, and the watcher with it, for ever.
	if data, err := safeopen.ReadFile(remoteStatePath(layout, url), maxRemoteState); err == nil {
		_ = json.Unmarshal(data, &st)
	}
	return st
}

func saveRemoteState(layout workdir.Layout, url string, st remoteState) {
	path := remoteStatePath(layout, url)
	if st.Error == "" {
		os.Remove(path)
		return
	}
	data, _ := json.Marshal(st)
	if os.MkdirAll(filepath.Dir(path), 0o777) == nil {
		_ = atomicfile.Write(path, data, 0o600)
	}
}

// numbers are the counts and durations in an error ("after 3001 ms", "port 4711"): two
// errors that differ only in them are the same error.
var numbers = regexp.MustCompile(`[0-9]+`)

// sameError reports whether two errors say the same thing, whatever numbers they quote.
func sameError(a, b string) bool {
	return a == b || numbers.ReplaceAllString(a, "N") == numbers.ReplaceAllString(b, "N")
}

// remoteNews is what a poll's outcome says of a remote, given what the polls before it said.
type remoteNews int

const (
	remoteAnswers      remoteNews = iota // it answers, as it did: nothing to log or keep
	remoteAnswersAgain                   // it answers after failing: logged, with the count
	remoteFailsAgain                     // the same error as last time: counted, not logged
	remoteFails                          // a new error, or the first: logged
)

// nextRemoteState is what a poll that ended with msg (the error, masked; "" when the remote
// answered) at now makes of a remote's last state, and what it says of the remote.
func nextRemoteState(last remoteState, msg string, now time.Time) (remoteState, remoteNews) {
	switch {
	case msg == "" && last.Error != "":
		return remoteState{}, remoteAnswersAgain
	case msg == "":
		return last, remoteAnswers
	case last.Error != "" && sameError(last.Error, msg):
		last.Failed++
		return last, remoteFailsAgain
	}
	return remoteState{Error: msg, Since: now, Failed: 1}, remoteFails
}
