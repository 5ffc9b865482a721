// Package build runs one build (SPEC §7): it resolves the ref and commit, creates the build
// directory, runs clone, checkout, prepare_callback, docker build, docker run, rsync and
// success_callback in order with the command lines of SPEC §7.1 (error_callback when a step
// fails, the commit cannot be checked out, or the build is canceled), records everything in
// build.log and build.json, and renames the directory from SHORT.tmp to SHORT on success.
package build
