package config

import (
	"errors"
	"fmt"
	"testing"

	"pipelined/internal/exitcode"
)

// TestABrokenFileIsAUsageError: every command exits 2 for an invalid configuration.
func TestABrokenFileIsAUsageError(t *testing.T) {
	for _, err := range []error{
		errors.Join(&Error{File: "c.ini", Msg: "a"}, &Error{File: "c.ini", Msg: "b"}),
		fmt.Errorf("loading: %w", &Error{File: "c.ini", Msg: "a"}),
	} {
		if got := exitcode.Of(err); got != exitcode.Usage {
			t.Errorf("exitcode.Of(%v) = %d, want %d", err, got, exitcode.Usage)
		}
	}
}
