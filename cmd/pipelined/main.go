// Command pipelined is the build runner's daemon: see --help.
package main

import (
	"os"
	"os/signal"
	"syscall"

	"pipelined/cmd/pipelined/internal/earlysignals"
	"pipelined/internal/cli"
)

// early holds the daemon's signals from the moment the program is initialized, before any
// flag is parsed: a reload or a stop sent right after a start (a config manager, systemd)
// waits here for the daemon, rather than killing it with the signal's default action.
var early = earlysignals.Caught

// releaseSignals gives the signals their default effect again, for every command but the
// daemon (`pipelined status` stops on Ctrl-C), and delivers again those that came
// meanwhile.
func releaseSignals() {
	signal.Stop(early)
	for {
		select {
		case sig := <-early:
			syscall.Kill(os.Getpid(), sig.(syscall.Signal))
		default:
			return
		}
	}
}

func main() { os.Exit(cli.Main(newRootCommand())) }
