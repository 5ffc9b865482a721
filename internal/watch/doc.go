// Package watch finds new work (SPEC §6): it asks every distinct remote of the enabled,
// watched projects for its branches and tags with git ls-remote (http(s) remotes
// in-process through internal/smarthttp when git's configuration leaves them alone), and
// writes a job into the spool for every matching (project, ref, commit) that has no build
// directory and no job queued or running. The work directory and the spool are its only state: deleting a build
// directory lets the commit be built again.
//
// Each remote has a schedule of its own: it is due every interval after its last poll
// started, at most Concurrency polls run at once, and a remote still being asked when it is
// due again is skipped rather than waited for. One ls-remote is bounded by the watcher's
// own Timeout, never by a project's build timeout, so a remote that hangs costs one
// timeout and delays nothing but itself.
package watch
