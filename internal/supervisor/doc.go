// Package supervisor is pipelined's daemon (SPEC §8): it recovers the spool after a
// restart, removes containers no running build owns, keeps pipeline-watch running, notices
// job files in spool/new/ (fsnotify, with a rescan as safety net) and runs each, first in
// first out, in a pipeline-build process of its own, never more than --limit at once. It
// reloads on SIGHUP or when the configuration file changes, drains on SIGINT, cancels on
// SIGTERM/SIGQUIT, and tells systemd about all of it (sd_notify). It also answers
// `pipelined status` and `pipelined enqueue`, which work with or without a running daemon.
package supervisor
