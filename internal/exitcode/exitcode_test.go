package exitcode

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"pipelined/internal/config"
)

func TestExitCodes(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("runtime failure"), 1},
		{&SilentError{Code: 1}, 1},
		{Usagef("bad flag"), 2},
		{errors.Join(&config.Error{File: "c.ini", Msg: "a"}, &config.Error{File: "c.ini", Msg: "b"}), 2},
		{fmt.Errorf("loading: %w", &config.Error{File: "c.ini", Msg: "a"}), 2},
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
