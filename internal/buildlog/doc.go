// Package buildlog writes a build's two records (SPEC §5): build.log, which every command's
// output goes into as it comes, framed by lines pipelined writes itself, and build.json,
// the machine-readable status, rewritten atomically at every step transition.
//
// build.log lines written by pipelined have stable prefixes, documented in docs/builds.md:
//
//	==> step NAME at TIME        a step begins
//	$ ARGV…                      the command about to run, shell-quoted
//	==> exit 0 after 1.2s        how the command ended (exit N, signal, timed out, canceled)
//	==> NOTE                     anything else pipelined has to say
//	==> result RESULT after 9.8s the build's end
//
// Everything else is the commands' own output, which they write straight into the file.
package buildlog
