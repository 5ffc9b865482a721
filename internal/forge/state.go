package forge

import (
	"fmt"
	"unicode/utf8"

	"pipelined/internal/config"
)

// State is what happened to a build, as its status report says (SPEC §5.1). Each is written
// by one party: pipeline-build for what it sees itself, the daemon for what happens to a job
// between builds.
type State string

// The states. Their order is the order of the state table in docs/forge.md.
const (
	Started     State = "started"     // pipeline-build began the steps (the description names the engine)
	Succeeded   State = "succeeded"   // every step succeeded
	Failed      State = "failed"      // a step failed (the description names it and its exit status)
	Skipped     State = "skipped"     // the commit was no longer on the remote: a newer one has its own job
	Canceled    State = "canceled"    // pipelined cancel, or superseded by a newer commit of the ref
	Interrupted State = "interrupted" // the daemon shut down: the job is kept and built again at its next start
	Retrying    State = "retrying"    // an infrastructure error: the daemon retries the job ("retry 2 of 5: …")
	SetAside    State = "set-aside"   // the daemon gave up on the job and moved it to bad/
	Broken      State = "broken"      // an infrastructure error in a build run by hand: nobody retries it
)

// States lists every state, for the tests that walk the table.
var States = []State{Started, Succeeded, Failed, Skipped, Canceled, Interrupted, Retrying, SetAside, Broken}

// row is what one state is on each forge. GitHub knows error, failure, pending and success
// only (a "canceled" gets 422); GitLab has running and canceled of its own, and refuses
// skipped before 17.x, so a skipped build is canceled there.
type row struct{ github, gitea, gitlab string }

// table maps every state to exactly one forge state per forge. There is no default: a state
// missing here is refused (and a test walks every state), so that nothing falls through to
// "failure" (Woodpecker PR #7118).
var table = map[State]row{
	Started:     {"pending", "pending", "running"},
	Succeeded:   {"success", "success", "success"},
	Failed:      {"failure", "failure", "failed"},
	Skipped:     {"error", "error", "canceled"},
	Canceled:    {"error", "error", "canceled"},
	Interrupted: {"pending", "pending", "pending"},
	Retrying:    {"pending", "pending", "pending"},
	SetAside:    {"error", "error", "failed"},
	Broken:      {"error", "error", "failed"},
}

// ForgeState returns the forge's own name for state s.
func ForgeState(kind string, s State) (string, error) {
	r, ok := table[s]
	if !ok {
		return "", fmt.Errorf("%q is not a state of the state table", s)
	}
	switch kind {
	case config.ForgeGitHub:
		return r.github, nil
	case config.ForgeGitea:
		return r.gitea, nil
	case config.ForgeGitLab:
		return r.gitlab, nil
	}
	return "", fmt.Errorf("%q is not a forge pipelined reports to", kind)
}

// descriptionLimit is the longest description each forge takes, in characters. GitHub
// refuses more than 140 with 422; GitLab keeps 255; Gitea stores any length but shows one
// line, so it gets GitLab's.
// DescriptionLimit is how many characters a forge takes in a status description.
func DescriptionLimit(kind string) int {
	if kind == config.ForgeGitHub {
		return 140
	}
	return 255
}

// Cut shortens s to at most limit characters (not bytes: a forge counts characters, and a
// cut must not split one), ending in "…" when it was cut.
func Cut(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	runes := []rune(s)
	return string(runes[:limit-1]) + "…"
}
