package supervisor

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// notifying reports whether systemd listens ($NOTIFY_SOCKET is set).
func notifying() bool { return os.Getenv("NOTIFY_SOCKET") != "" }

// notify sends state to systemd's $NOTIFY_SOCKET (sd_notify(3)): one datagram, no
// library. Without the variable it does nothing.
func notify(state ...string) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return
	}
	if strings.HasPrefix(path, "@") {
		path = "\x00" + path[1:] // abstract namespace
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return
	}
	defer conn.Close()
	conn.SetWriteDeadline(time.Now().Add(notifyBound))
	conn.Write([]byte(strings.Join(state, "\n")))
}

// notifyBound bounds a send to $NOTIFY_SOCKET, which runs on the event loop: a datagram
// blocks while the reader's queue is full (net.unix.max_dgram_qlen, 10 by default), for ever
// if nobody reads it — a hung systemd, a stale variable naming another program's socket.
// systemd reads its socket at once; a second covers a busy one, and a status it misses is
// sent again with the next.
const notifyBound = time.Second

// monotonicUsec is the MONOTONIC_USEC= field systemd wants with RELOADING=1: the time of
// the reload on CLOCK_MONOTONIC, in microseconds (without it `systemctl reload` of a
// Type=notify-reload unit waits for its timeout).
func monotonicUsec() string {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return fmt.Sprintf("MONOTONIC_USEC=%d", ts.Sec*1_000_000+ts.Nsec/1_000)
}

// notifyState sends a state the machine asked for, with the MONOTONIC_USEC= field that
// RELOADING=1 needs.
func notifyState(state []string) {
	if !notifying() {
		return
	}
	for _, s := range state {
		if s == "RELOADING=1" {
			state = append(state, monotonicUsec())
			break
		}
	}
	notify(state...)
}

func statusLine(running, queued int) string {
	return fmt.Sprintf("STATUS=%d running, %d queued", running, queued)
}
