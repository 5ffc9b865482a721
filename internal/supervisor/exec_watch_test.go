package supervisor

import (
	"os"
	"slices"
	"testing"
)

// TestReadDoneSendsWholeLines: the keys a pass writes come as events of whole lines, a line
// split between two writes included; a line the pass left unfinished is dropped.
func TestReadDoneSendsWholeLines(t *testing.T) {
	r := &runtime{group: newGroup(), events: make(chan Event, 16)}
	defer r.group.cancel()
	done, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	ended := r.readDone(7, done)
	var keys []string
	take := func() {
		ev := (<-r.events).(RemoteDone)
		if ev.ID != 7 {
			t.Errorf("event of pass %d, want 7", ev.ID)
		}
		keys = append(keys, ev.Keys...)
	}
	w.WriteString("aa\nbb\ncc")
	take()
	w.WriteString("c\n")
	take()
	w.WriteString("dd\nunfinished")
	take()
	w.Close()
	<-ended
	done.Close()
	if want := []string{"aa", "bb", "ccc", "dd"}; !slices.Equal(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}
}
