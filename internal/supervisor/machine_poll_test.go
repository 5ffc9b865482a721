package supervisor

import (
	"strings"
	"syscall"
	"testing"
	"time"
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
