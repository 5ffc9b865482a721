package smarthttp

import (
	"net/url"
	"strings"
)

// Decide says whether remote may be listed in-process, given git's configuration snap and
// env, the environment git would list it with: "" if it may, or why git must list it.
// It is conservative: whatever could make git's answer differ sends the remote to git.
func Decide(remote string, snap *Snapshot, env []string) string {
	u, why := checkURL(remote)
	if why != "" {
		return why
	}
	if why := checkEnv(env, snap.Env); why != "" {
		return why
	}
	if snap.Netrc {
		return "$HOME has a .netrc, which curl reads for credentials"
	}
	for _, e := range snap.Entries {
		if why := checkEntry(e, remote, u); why != "" {
			return why
		}
	}
	return ""
}

// checkURL accepts http(s)://[user[:password]@]host[:port][/path] with a path of
// characters that Go sends as curl does, unchanged; no query (git would append its own
// with "&"), no fragment.
func checkURL(remote string) (*url.URL, string) {
	if !Handles(remote) {
		return nil, "not an http(s) URL"
	}
	if strings.ContainsAny(remote, "?#") {
		return nil, "the URL has a query or a fragment"
	}
	for i := 0; i < len(remote); i++ {
		c := remote[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"<>\^{|}`+"`", c) >= 0 {
			return nil, "the URL has a character git and Go may send differently"
		}
		if c == '%' && (i+2 >= len(remote) || !isHex(remote[i+1]) || !isHex(remote[i+2])) {
			return nil, "the URL has a stray %"
		}
	}
	authority, _, _ := strings.Cut(remote[strings.Index(remote, "://")+3:], "/")
	if strings.Count(authority, "@") > 1 {
		// git and Go split user and host at different "@".
		return nil, "the URL has more than one @ before its path"
	}
	u, err := url.Parse(remote)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, "the URL does not parse"
	}
	return u, ""
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// gitVars are the GIT_ variables that leave an http(s) listing alone: SafeEnv's, ssh's,
// identity, the CA file (read as git reads it), and those choosing configuration files
// (which the snapshot was read with). Any other GIT_ variable sends the remote to git.
var gitVars = map[string]bool{
	"GIT_TERMINAL_PROMPT": true, "GIT_ASKPASS": true, "GIT_SSH": true, "GIT_SSH_COMMAND": true,
	"GIT_SSH_VARIANT": true, "GIT_SSL_CAINFO": true, "GIT_CONFIG_GLOBAL": true,
	"GIT_CONFIG_SYSTEM": true, "GIT_CONFIG_NOSYSTEM": true,
	"GIT_AUTHOR_NAME": true, "GIT_AUTHOR_EMAIL": true, "GIT_AUTHOR_DATE": true,
	"GIT_COMMITTER_NAME": true, "GIT_COMMITTER_EMAIL": true, "GIT_COMMITTER_DATE": true,
}

// passBound are the variables a pass read its snapshot and TLS roots with: a remote whose
// environment has other values than the pass's goes to git.
var passBound = []string{"HOME", "XDG_CONFIG_HOME", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM",
	"GIT_CONFIG_NOSYSTEM", "GIT_SSL_CAINFO", "SSL_CERT_FILE", "SSL_CERT_DIR"}

// checkEnv refuses proxies, GIT_ variables beyond gitVars, what curl and GnuTLS read
// beyond git (NETRC, CURL_SSL_BACKEND, GNUTLS_*), and a remote environment that differs
// from the pass's in passBound.
func checkEnv(env, passEnv []string) string {
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		switch lower := strings.ToLower(name); {
		case strings.HasSuffix(lower, "_proxy") && value != "":
			return name + " is set: git would use a proxy"
		case strings.HasPrefix(name, "GIT_") && !gitVars[name]:
			return name + " is set"
		case name == "NETRC" || name == "CURL_SSL_BACKEND" || strings.HasPrefix(name, "GNUTLS_"):
			return name + " is set"
		}
	}
	if lookup(env, "HOME") == "" {
		return "HOME is not set: curl would look for a .netrc elsewhere"
	}
	for _, name := range passBound {
		v, set := lookupSet(env, name)
		pv, pset := lookupSet(passEnv, name)
		if v != pv || set != pset {
			return name + " differs from the watcher's"
		}
	}
	return ""
}

// checkEntry says why a configuration variable could change git's listing of remote.
func checkEntry(e Entry, remote string, u *url.URL) string {
	name := e.Section + "." + e.Name
	if e.Subsection != "" {
		name = e.Section + ".<url>." + e.Name
	}
	switch e.Section {
	case "credential":
		if e.Subsection == "" || mayMatch(e.Subsection, u) {
			return name + " is set"
		}
	case "http":
		if e.Subsection != "" {
			if mayMatch(e.Subsection, u) {
				return name + " applies to the URL"
			}
			return ""
		}
		return checkHTTP(e)
	case "url":
		if (e.Name == "insteadof" || e.Name == "pushinsteadof") && strings.HasPrefix(remote, e.Value) {
			return "url.<base>." + e.Name + " rewrites the URL"
		}
	case "protocol":
		return checkProtocol(e, u.Scheme)
	case "remote":
		if e.Subsection == remote {
			return "a remote is named as the URL"
		}
	case "transfer":
		if e.Name == "credentialsinurl" {
			return name + " is set"
		}
	}
	return ""
}

// checkHTTP accepts the http.* variables this package implements exactly: sslCAInfo (see
// Snapshot.roots), sslVerify when true, and postBuffer, which only matters for requests far
// larger than ls-refs.
func checkHTTP(e Entry) string {
	switch e.Name {
	case "sslcainfo", "postbuffer":
		return ""
	case "sslverify":
		if e.NoValue || isTrue(e.Value) {
			return ""
		}
		return "http.sslVerify is not true"
	}
	return "http." + e.Name + " is set"
}

// checkProtocol accepts protocol.version 2 and protocol[.SCHEME].allow always: what git
// does without them.
func checkProtocol(e Entry, scheme string) string {
	switch {
	case e.Subsection == "" && e.Name == "version":
		if e.Value == "2" {
			return ""
		}
		return "protocol.version is not 2"
	case e.Name == "allow" && (e.Subsection == "" || e.Subsection == scheme):
		if e.Value == "always" {
			return ""
		}
		return "protocol allow rules apply"
	}
	return ""
}

func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "true", "yes", "on", "1":
		return true
	}
	return false
}

// mayMatch reports whether a configuration URL (credential.<url>, http.<url>) could
// apply to u: by host alone, a "*" matching any labels, and any URL it cannot read. git
// matches more narrowly (scheme, port, path, user), so this errs towards git.
func mayMatch(pattern string, u *url.URL) bool {
	_, rest, ok := strings.Cut(pattern, "://")
	if !ok {
		return true
	}
	authority, _, _ := strings.Cut(rest, "/")
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		authority = authority[at+1:]
	}
	host := strings.ToLower(authority)
	if strings.HasPrefix(host, "[") {
		host, _, _ = strings.Cut(host[1:], "]")
	} else {
		host, _, _ = strings.Cut(host, ":")
	}
	target := strings.ToLower(u.Hostname())
	if i := strings.LastIndexByte(host, '*'); i >= 0 {
		return strings.HasSuffix(target, host[i+1:])
	}
	return host == target
}
