// Package polling decides what is polled and when (SPEC §6), without polling anything: which
// remotes the projects watch, when each is due (Schedule), which refs a project builds, and
// the poll requests of `pipelined poll`. The daemon plans its passes with it, and
// pipeline-watch (package watch) carries a pass out; the daemon itself never lists a remote,
// so it links neither git's protocol nor TLS.
package polling
