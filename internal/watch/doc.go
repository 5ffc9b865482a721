// Package watch finds new work (SPEC §6): in each pass it asks every distinct remote of
// the enabled, watched projects for its branches and tags with git ls-remote, concurrently
// with a bound, and writes a job into the spool for every matching (project, ref, commit)
// that has no build directory and no job queued or running. The work directory and the
// spool are its only state: deleting a build directory lets the commit be built again.
package watch
