package procexec

import (
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// SignalText is how messages name a signal: "signal 9 (SIGKILL)".
func SignalText(s syscall.Signal) string {
	name := SignalName(s)
	if strings.HasPrefix(name, "signal ") {
		return name
	}
	return "signal " + strconv.Itoa(int(s)) + " (" + name + ")"
}

// SignalName is the usual name of a signal ("SIGTERM"), or "signal N" for one without.
func SignalName(s syscall.Signal) string {
	if name := unix.SignalName(s); name != "" {
		return name
	}
	return "signal " + strconv.Itoa(int(s))
}
