package exitcode

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
)

// brokenFile stands in for an error of a package below this one that knows its status,
// as config.Error does (a test of package config checks that one).
type brokenFile struct{}

func (brokenFile) Error() string { return "c.ini:1: bad" }
func (brokenFile) ExitCode() int { return Usage }

func TestExitCodes(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("runtime failure"), 1},
		{&SilentError{Code: 1}, 1},
		{Usagef("bad flag"), 2},
		{errors.Join(brokenFile{}, brokenFile{}), 2},
		{fmt.Errorf("loading: %w", brokenFile{}), 2},
		{&SignalError{Signal: syscall.SIGINT}, 130},
		{&SignalError{Signal: syscall.SIGTERM}, 143},
		{&SignalError{Signal: syscall.SIGQUIT}, 131},
		{Retryf("disk full"), 75},
		{fmt.Errorf("starting: %w", Retryf("disk full")), 75},
	}
	for _, tc := range cases {
		if got := Of(tc.err); got != tc.want {
			t.Errorf("Of(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
