// Package earlysignals catches the daemon's signals as early as a Go program can (issue 18,
// item 6: a SIGHUP, SIGINT or SIGUSR1 at any moment of start-up must not kill the daemon).
//
// Until a program asks for a signal, the Go runtime gives SIGHUP and SIGINT their default
// effect, death. Packages are initialized in the order of their import paths, each once
// everything it imports is: this package imports nothing but os/signal and what that
// needs, so its init runs right after os/signal's (about half a millisecond after exec),
// where an init of package main would run after every package the daemon uses (cobra,
// net/http, the configuration's tables: some three times later). Signals that come before
// the Go runtime has started at all still have their default effect: no Go program can
// catch those.
package earlysignals

import (
	"os"
	"os/signal"
	"syscall"
)

// Signals are the daemon's signals (supervisor.DaemonSignals; a test holds them equal).
var Signals = []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGUSR1}

// Caught receives them from the moment the program is initialized. Its buffer holds what
// comes before the daemon's loop reads it.
var Caught = make(chan os.Signal, 16)

func init() { signal.Notify(Caught, Signals...) }
