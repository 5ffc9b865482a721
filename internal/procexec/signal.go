package procexec

import (
	"strconv"
	"strings"
	"syscall"
)

// SignalText is how messages name a signal: "signal 9 (SIGKILL)".
func SignalText(s syscall.Signal) string {
	name := SignalName(s)
	if strings.HasPrefix(name, "signal ") {
		return name
	}
	return "signal " + strconv.Itoa(int(s)) + " (" + name + ")"
}

// SignalName is the usual name of a signal ("SIGTERM"), or its number for others.
func SignalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGUSR1:
		return "SIGUSR1"
	}
	return "signal " + strconv.Itoa(int(s))
}
