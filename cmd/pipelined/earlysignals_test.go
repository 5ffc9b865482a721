package main

import (
	"slices"
	"testing"

	"pipelined/cmd/pipelined/internal/earlysignals"
	"pipelined/internal/supervisor"
)

// TestEarlySignalsAreTheDaemons: the signals caught before the daemon starts are the ones
// it acts on.
func TestEarlySignalsAreTheDaemons(t *testing.T) {
	if !slices.Equal(earlysignals.Signals, supervisor.DaemonSignals) {
		t.Errorf("earlysignals.Signals = %v, supervisor.DaemonSignals = %v", earlysignals.Signals, supervisor.DaemonSignals)
	}
}
