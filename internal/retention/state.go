package retention

import "pipelined/internal/outcome"

// Decisive reports whether the build's result says how its commit fares: success or failed,
// and not an infrastructure error that is retried. A canceled build (by hand, superseded, a
// shutdown), a skipped one and one still running say nothing about the commit.
func (b Build) Decisive() bool {
	st := b.Status
	return st != nil && !st.Retry && (st.Result == outcome.Success || st.Result == outcome.Failed)
}

// State returns the index, in builds (newest first), of the build that gives the ref its
// state — on the status page, its badge, "failing now" and `pipelined status`: the newest
// decisive build, so that a canceled rebuild never hides a success or a failure. Without a
// decisive build it is the newest build (0); -1 for no build at all.
func State(builds []Build) int {
	for i, b := range builds {
		if b.Decisive() {
			return i
		}
	}
	if len(builds) == 0 {
		return -1
	}
	return 0
}

// ReadState returns the n most recent builds of a ref directory (newest first), how many
// it has, and the build that gives it its state (see State), which may be older than those
// n when none of them is decisive.
func ReadState(refDir string, n int) (recent []Build, count int, state Build, ok bool) {
	recent, count = ReadRecent(refDir, n)
	i := State(recent)
	if i < 0 {
		return recent, count, Build{}, false
	}
	if !recent[i].Decisive() && count > len(recent) {
		// None of the recent ones is decisive: an older build may be.
		if all := Read(refDir); State(all) >= 0 && all[State(all)].Decisive() {
			return recent, count, all[State(all)], true
		}
	}
	return recent, count, recent[i], true
}
