// Package spool implements the job spool of SPEC §5 with the maildir discipline: a writer
// creates a job file under a unique name in tmp/, syncs it and renames it into new/ (so no
// reader ever sees half a file); the supervisor claims a job by renaming it into cur/
// (only one rename can win); a file that cannot be a job is moved to bad/ with a .reason
// file beside it.
//
// It also owns the outcome protocol of SPEC §5.1 (Decide: when a job file is removed,
// requeued, retried with back-off or set aside) and every lock: the lock a build holds on
// its job file while it runs, the probe that asks about it without taking it, and the lock
// of the one daemon of a work directory. Job files are only ever opened in a way that can
// neither block nor follow a link, so nothing dropped into the spool can stop a reader.
package spool
