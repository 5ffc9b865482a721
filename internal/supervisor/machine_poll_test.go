package supervisor

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/polling"
)

// TestPassesPollDueRemotesAndSkipOnesInFlight: a remote still being asked is not asked
// again by the next pass; a hand poll of one project polls its remote alone.
func TestPassesPollDueRemotesAndSkipOnesInFlight(t *testing.T) {
	h := newHarness(t, "[a]\nremote = /ra\nbranches = main\n\n[b]\nremote = /rb\nbranches = main\n", Settings{Interval: time.Minute})
	first := of[StartPass](h.out)
	if len(first) != 1 || !first[0].All {
		t.Fatalf("the first pass: %v", first)
	}
	h.ready()
	// /rb hangs; /ra answers at once in a pass of its own after the interval.
	h.step(PassEnded{ID: first[0].ID})
	second := of[StartPass](h.advance(time.Minute))
	if len(second) != 1 || !second[0].All {
		t.Fatalf("after a minute: %v", second)
	}
	if out := h.advance(time.Minute); len(of[StartPass](out)) != 0 {
		t.Errorf("remotes in flight were asked again: %v", out)
	}
	// Both were due again meanwhile: the end of the pass starts the next one at once.
	third := of[StartPass](h.step(PassEnded{ID: second[0].ID}))
	if len(third) != 1 || !third[0].All {
		t.Fatalf("after the hung pass: %v", third)
	}
	h.step(PassEnded{ID: third[0].ID})
	// A poll by hand of one project: its remote alone, for it alone.
	h.step(Signaled{Sig: syscall.SIGUSR1})
	fourth := of[StartPass](h.step(PollRequested{Projects: map[string]bool{"a": true}}))
	if len(fourth) != 1 || fourth[0].All || strings.Join(fourth[0].Projects, ",") != "a" {
		t.Errorf("a poll of a: %v", fourth)
	}
}

// TestAPassThatFailsBacksOff: after a pass of pipeline-watch that failed to run, the next
// waits a second, twice as long at each failure after it up to a minute, however overdue
// the remotes are; a pass that runs ends the back-off, and a poll asked for by hand does not
// wait it out.
func TestAPassThatFailsBacksOff(t *testing.T) {
	h := newHarness(t, oneProject, Settings{Interval: time.Millisecond})
	h.ready()
	pass := of[StartPass](h.out)[0]
	failed := errors.New("fork/exec pipeline-watch: no such file or directory")
	for _, want := range []time.Duration{1, 2, 4, 8, 16, 32, 60, 60} {
		want *= time.Second
		out := h.step(PassEnded{ID: pass.ID, Err: failed})
		if len(of[StartPass](out)) != 0 || !logged(out, "a pass of pipeline-watch failed; polling again with back-off") {
			t.Fatalf("after a failed pass: %v", out)
		}
		if got := h.m.Wake().Sub(h.now); got != want {
			t.Errorf("the next pass is due in %v, want %v", got, want)
		}
		if out := h.advance(want - time.Millisecond); len(of[StartPass](out)) != 0 {
			t.Fatalf("a pass started within a back-off of %v: %v", want, out)
		}
		next := of[StartPass](h.advance(time.Millisecond))
		if len(next) != 1 {
			t.Fatalf("no pass at the end of a back-off of %v", want)
		}
		pass = next[0]
	}
	h.step(PassEnded{ID: pass.ID})
	next := of[StartPass](h.advance(time.Millisecond))
	if len(next) != 1 {
		t.Fatal("no pass one interval after a pass that ran")
	}
	h.step(PassEnded{ID: next[0].ID, Err: failed})
	if got := h.m.Wake().Sub(h.now); got != time.Second {
		t.Errorf("after a pass that ran, a failure backs off %v, want a second again", got)
	}
	h.step(Signaled{Sig: syscall.SIGUSR1})
	if out := h.step(PollRequested{}); len(of[StartPass](out)) != 1 {
		t.Errorf("a poll by hand waited out the back-off: %v", out)
	}
}

// TestAPollByHandPassesForTheProjectsAskedFor: a poll of one project of a shared remote
// is a pass for that project alone (the other is built only when polled); of both, for
// both; of a project that is gone, for every remote.
func TestAPollByHandPassesForTheProjectsAskedFor(t *testing.T) {
	const shared = "[p]\nremote = /r\nbranches = main\n\n[q]\nremote = /r\nbranches = main\n\n[o]\nremote = /o\nbranches = main\n"
	for _, tc := range []struct {
		asked []string
		want  string // the pass's projects
		all   bool
	}{
		{[]string{"q"}, "q", false},
		{[]string{"p", "q"}, "p,q", false},
		{[]string{"q", "o"}, "q,o", false},
		{[]string{"gone"}, "p,q,o", true},
		{nil, "p,q,o", true},
	} {
		h := newHarness(t, shared, Settings{Interval: time.Hour})
		h.ready()
		h.step(PassEnded{ID: of[StartPass](h.out)[0].ID})
		asked := map[string]bool{}
		for _, name := range tc.asked {
			asked[name] = true
		}
		h.step(Signaled{Sig: syscall.SIGUSR1})
		pass := of[StartPass](h.step(PollRequested{Projects: asked}))
		if len(pass) != 1 || strings.Join(pass[0].Projects, ",") != tc.want || pass[0].All != tc.all {
			t.Errorf("a poll of %q: %+v, want a pass for %s (all %v)", tc.asked, pass, tc.want, tc.all)
		}
	}
}

// TestPollsByHandOfARemoteInFlightAddUp: polls by hand of two projects of a remote that
// is being asked (for a third) are both answered by the pass that follows, and a poll of
// everything then asks for every project; before, the second request replaced the first,
// whose project went unpolled (for good, without --interval), and a poll of everything
// still asked for the one project.
func TestPollsByHandOfARemoteInFlightAddUp(t *testing.T) {
	const shared = "[p]\nremote = /r\nbranches = main\n\n[q]\nremote = /r\nbranches = main\n\n[s]\nremote = /r\nbranches = main\n"
	pollOf := func(h *harness, names ...string) []StartPass {
		asked := map[string]bool{}
		for _, name := range names {
			asked[name] = true
		}
		h.step(Signaled{Sig: syscall.SIGUSR1})
		return of[StartPass](h.step(PollRequested{Projects: asked}))
	}
	for _, tc := range []struct {
		then [][]string // polls while the pass of s runs
		want string     // the next pass's projects
		all  bool
	}{
		{[][]string{{"p"}, {"q"}}, "p,q", false},
		{[][]string{{"p"}, {"p"}}, "p", false},
		{[][]string{{"p"}, nil}, "p,q,s", true},
	} {
		h := newHarness(t, shared, Settings{})
		h.ready()
		first := pollOf(h, "s")
		if len(first) != 1 {
			t.Fatalf("a poll of s: %+v", first)
		}
		for _, names := range tc.then {
			if out := pollOf(h, names...); len(out) != 0 {
				t.Fatalf("a poll while the remote is in flight started a pass: %+v", out)
			}
		}
		next := of[StartPass](h.step(PassEnded{ID: first[0].ID}))
		if len(next) != 1 || strings.Join(next[0].Projects, ",") != tc.want || next[0].All != tc.all {
			t.Errorf("polls of %q while s was polled, then: %+v, want a pass for %s (all %v)", tc.then, next, tc.want, tc.all)
		}
	}
}

// TestARemoteDoneInAPassStuckOnAnotherIsDueOnItsOwn: a pass stuck on /rb that is done
// with /ra holds /ra up no longer: /ra is asked again an interval later, in a pass of its
// own, while /rb, still in flight, is not. Before, /ra waited for the whole pass, so one
// remote hanging past the interval delayed every other.
func TestARemoteDoneInAPassStuckOnAnotherIsDueOnItsOwn(t *testing.T) {
	h := newHarness(t, "[a]\nremote = /ra\nbranches = main\n\n[b]\nremote = /rb\nbranches = main\n", Settings{Interval: time.Minute})
	first := of[StartPass](h.out)
	if len(first) != 1 || !first[0].All {
		t.Fatalf("the first pass: %v", first)
	}
	h.ready()
	h.step(RemoteDone{ID: first[0].ID, Keys: []string{polling.Key("/ra"), polling.Key("/unknown")}})
	second := of[StartPass](h.advance(time.Minute))
	if len(second) != 1 || second[0].All || strings.Join(second[0].Projects, ",") != "a" {
		t.Fatalf("a minute later, /rb still in flight: %+v, want a pass for a alone", second)
	}
	// The end of the first pass makes /rb due again (it is overdue); /ra is in the second.
	third := of[StartPass](h.step(PassEnded{ID: first[0].ID}))
	if len(third) != 1 || strings.Join(third[0].Projects, ",") != "b" {
		t.Errorf("after the stuck pass: %+v, want a pass for b", third)
	}
}
