// Package smarthttp lists the branches and tags of an http(s) remote in-process, speaking
// git's own smart-HTTP protocol (gitprotocol-http(5)): protocol v2 `ls-refs`
// (gitprotocol-v2(5)), and the v0 advertisement of servers that answer only that. Its
// answer is the text `git --no-pager ls-remote --heads --tags --refs --quiet -- URL` prints,
// byte for byte, for git.ParseLsRemote to read as it reads git's (SPEC §6).
//
// It lists only what git's configuration and environment leave alone: [Decide] says when
// git must be asked instead (a credential helper, insteadOf, a proxy, an http.* setting, a
// .netrc, …), and the lister itself gives up with [ErrUseGit] on any answer it does not
// handle exactly as git does (a redirect, 401/403, a dumb server, a TLS failure, a
// malformed or cut-short answer). The caller then runs git ls-remote, which stays the tool
// for every other transport and for every other repository operation.
//
// A [Client] serves one pass of the watcher: it reads git's configuration once (one
// `git config --null --list`), and keeps one HTTP transport whose connections are reused
// by every remote of a host.
package smarthttp
