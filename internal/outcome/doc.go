// Package outcome owns the outcome protocol of SPEC §5.1: what ends a job. A job file is
// the record that a build is wanted, and it is removed only when that want is met or
// withdrawn on purpose.
//
// It holds, in one place:
//   - the result words a build records in build.json (success, failed, …);
//   - the cancel record: the one file that says why a build was canceled — withdrawn on
//     purpose, interrupted by an infrastructure fault, or stopped by the daemon's shutdown;
//   - Decide, the table from what is known of an ended build to what becomes of its job;
//   - the retry schedule of infrastructure errors;
//   - Jobs, the only code that claims, removes, requeues, retries or sets aside a job file.
//     The daemon carries out its decisions through it; `pipelined cancel` and pipeline-build
//     ask it, and never move a job file themselves.
package outcome
