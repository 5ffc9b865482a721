package cli

import (
	"strconv"
	"testing"
	"time"
)

// A number of seconds so large that time.Duration(n) * time.Second wraps round (to 0.29 s
// for 18446744074) is refused, not taken as a tiny or negative duration.
func TestSecondsRefusesWhatWrapsRound(t *testing.T) {
	for _, arg := range []string{"18446744074", "9223372037", strconv.Itoa(MaxSeconds + 1)} {
		n := 60
		if err := Seconds(&n, 1).Set(arg); err == nil {
			t.Errorf("Set(%s) = nil, want an error (n = %d, a duration of %v)", arg, n, time.Duration(n)*time.Second)
		}
		if n != 60 {
			t.Errorf("Set(%s) changed the value to %d", arg, n)
		}
	}
	n := 0
	if err := Seconds(&n, 0).Set(strconv.Itoa(MaxSeconds)); err != nil || n != MaxSeconds {
		t.Errorf("Set(MaxSeconds) = %v, n = %d", err, n)
	}
	if d := time.Duration(MaxSeconds)*time.Second + time.Minute; d <= 0 {
		t.Errorf("MaxSeconds plus a minute wraps round: %v", d)
	}
	if err := Seconds(&n, 1).Set("0"); err == nil {
		t.Error("Set(0) with a minimum of 1 = nil")
	}
	if err := Seconds(&n, 1).Set("-5"); err == nil {
		t.Error("Set(-5) = nil")
	}
}

// A grace period whose sums (grace plus a second: the daemon's exit deadline) would wrap
// round to a negative duration is refused; one at the bound is not.
func TestGraceRefusesWhatWrapsRound(t *testing.T) {
	d := 10 * time.Second
	if err := Grace(&d).Set("2562047h47m16s"); err == nil || d != 10*time.Second {
		t.Errorf("Set(2562047h47m16s) = %v, grace %v: want an error, 10s kept", err, d)
	}
	if err := Grace(&d).Set(MaxGrace.String()); err != nil || d != MaxGrace || d+time.Minute <= 0 {
		t.Errorf("Set(MaxGrace) = %v, grace %v", err, d)
	}
	if err := Grace(&d).Set("ten seconds"); err == nil {
		t.Error("Set(ten seconds) = nil")
	}
	if err := Grace(&d).Set("0"); err != nil || d != 0 {
		t.Errorf("Set(0) = %v, grace %v", err, d)
	}
}
