// Package spool implements the job spool of SPEC §5 with the maildir discipline: a writer
// creates a job file under a unique name in tmp/, syncs it and renames it into new/ (so no
// reader ever sees half a file); the supervisor claims a job by renaming it into cur/
// (only one rename can win); a finished job's file is removed; a file that cannot be a job
// is moved to bad/ with a .reason file beside it. A build holds a lock on its job file
// while it runs, which is how a restarted supervisor tells a running build from a crashed
// one. Only this package renames job files, and only it (and the supervisor's config
// reloader) uses fsnotify.
package spool
