package watch

import (
	"testing"
	"time"
)

func TestHTTPSPassLastsAPassOrAnInterval(t *testing.T) {
	var p httpsPass
	once := Options{Once: true, Interval: time.Nanosecond}
	first := p.client(once)
	if p.client(once) != first {
		t.Error("pipeline-watch --once renewed its pass")
	}
	resident := Options{Interval: time.Hour}
	if p.client(resident) != first {
		t.Error("a resident watcher renewed its pass within the interval")
	}
	expired := Options{Interval: time.Nanosecond}
	second := p.client(expired)
	if second == first {
		t.Error("a resident watcher kept its pass beyond the interval")
	}
	p.end()
	if p.current != nil || p.client(resident) == second {
		t.Error("a pass outlived its end")
	}
	p.end()
}
