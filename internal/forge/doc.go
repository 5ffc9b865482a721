// Package forge reports build statuses to forges (GitHub, Gitea/Forgejo, GitLab) and lists
// their open pull requests (issue 20, SPEC §4.2 forge keys).
//
// It owns the state table (every outcome of SPEC §5.1 → exactly one status per forge), the
// request of each forge's status API, the token (read at each use, never written anywhere),
// the outbox — status records on disk beside the spool, written with the spool's atomic
// discipline, the newest state per commit and context kept — and the Sender, which delivers
// them off every build's path and off the daemon's event loop, with back-off, and gives up
// after GiveUp with a log line. It does not decide when a build starts or ends: pipeline-build
// and the supervisor say so by writing records (Enqueue).
package forge
