// Package admin holds the commands an operator runs beside the daemon — `pipelined status`
// and `pipelined enqueue` — which work from the spool and the work directory alone, whether
// the daemon runs or not. They only read the spool, or write a job into new/ the way any
// writer does; moving and removing job files is the supervisor's alone (SPEC §5.1).
package admin
