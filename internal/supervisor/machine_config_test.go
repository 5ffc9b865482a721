package supervisor

import (
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/config"
)

// TestAReloadThatChangesNothingSaysNothing: an edit and the SIGHUP after it are one line.
func TestAReloadThatChangesNothingSaysNothing(t *testing.T) {
	h := newHarness(t, oneProject, Settings{})
	h.ready()
	cfg, _ := config.Parse(strings.NewReader(oneProject), "test.ini")
	h.step(ConfigChanged{})
	h.step(Signaled{Sig: syscall.SIGHUP})
	out := h.step(Reloaded{Why: "SIGHUP", Cfg: cfg})
	out = append(out, h.advance(time.Second)...)
	out = append(out, h.step(Reloaded{Why: "the configuration file changed", Cfg: cfg, Unchanged: true})...)
	n := 0
	for _, l := range of[Log](out) {
		if l.Msg == "configuration reloaded" {
			n++
		}
		if l.Level > slog.LevelInfo {
			t.Errorf("logged %v", l)
		}
	}
	if n != 1 {
		t.Errorf("%d lines say the configuration was reloaded, want 1", n)
	}
}
