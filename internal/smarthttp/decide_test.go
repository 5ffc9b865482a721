package smarthttp

import (
	"strings"
	"testing"
)

// decideRemote and decidePass are the remote and the pass's environment of decideCases.
const decideRemote = "https://user:tok@git.example.com:8443/team/repo.git"

var decidePass = []string{"HOME=/home/ci", "PATH=/usr/bin", "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "GIT_SSL_CAINFO=/etc/ca.pem"}

func entry(section, sub, name, value string) Entry {
	return Entry{Section: section, Subsection: sub, Name: name, Value: value}
}

var decideCases = []struct {
	name    string
	remote  string
	entries []Entry
	netrc   bool
	env     []string // added to pass for the remote's environment
	passEnv []string // replaces pass as the snapshot's environment, if set
	why     string   // part of the reason; "" when it may be listed in-process
}{
	{name: "nothing in the way"},
	{name: "plain http", remote: "http://127.0.0.1/r.git"},
	{name: "no path", remote: "https://example.com"},
	{name: "escaped path", remote: "https://example.com/a%20b/c+d@e.git"},
	{name: "IPv6 host", remote: "https://[::1]:8443/r.git"},
	{name: "identity and ssh variables", env: []string{"GIT_AUTHOR_NAME=x", "GIT_SSH_COMMAND=ssh -i key"}},
	{name: "unrelated configuration", entries: []Entry{entry("user", "", "name", "x"), entry("core", "", "editor", "vi"),
		entry("credential", "https://other.example.com", "helper", "store"), entry("http", "https://other.example.com/", "proxy", "p"),
		entry("url", "https://mirror/", "insteadof", "https://elsewhere/"), entry("remote", "origin", "url", decideRemote)}},
	{name: "http settings implemented", entries: []Entry{entry("http", "", "sslverify", "true"), {Section: "http", Name: "sslverify", NoValue: true},
		entry("http", "", "sslcainfo", "/etc/ca.pem"), entry("http", "", "postbuffer", "524288000")}},
	{name: "protocol defaults spelt out", entries: []Entry{entry("protocol", "", "version", "2"), entry("protocol", "https", "allow", "always"),
		entry("protocol", "ext", "allow", "never")}},

	{name: "ssh URL", remote: "ssh://git@example.com/r.git", why: "not an http(s) URL"},
	{name: "upper-case scheme", remote: "HTTPS://example.com/r.git", why: "not an http(s) URL"},
	{name: "query", remote: "https://example.com/r.git?x=1", why: "query"},
	{name: "fragment", remote: "https://example.com/r.git#x", why: "query or a fragment"},
	{name: "space", remote: "https://example.com/a b.git", why: "character"},
	{name: "non-ASCII", remote: "https://example.com/ü.git", why: "character"},
	{name: "stray percent", remote: "https://example.com/100%.git", why: "stray %"},
	{name: "two @", remote: "https://u:p@ss@example.com/r.git", why: "more than one @"},
	{name: "no host", remote: "https:///r.git", why: "does not parse"},

	{name: "https_proxy", env: []string{"https_proxy=http://proxy:3128"}, why: "https_proxy is set"},
	{name: "ALL_PROXY", env: []string{"ALL_PROXY=socks5://proxy"}, why: "ALL_PROXY"},
	{name: "no_proxy", env: []string{"no_proxy=localhost"}, why: "no_proxy"},
	{name: "empty proxy variable", env: []string{"http_proxy="}},
	{name: "GIT_SSL_NO_VERIFY", env: []string{"GIT_SSL_NO_VERIFY=1"}, why: "GIT_SSL_NO_VERIFY"},
	{name: "GIT_CURL_VERBOSE", env: []string{"GIT_CURL_VERBOSE=1"}, why: "GIT_CURL_VERBOSE"},
	{name: "GIT_CONFIG_PARAMETERS", env: []string{"GIT_CONFIG_PARAMETERS='http.proxy'='x'"}, why: "GIT_CONFIG_PARAMETERS"},
	{name: "GIT_CONFIG_COUNT", env: []string{"GIT_CONFIG_COUNT=1"}, why: "GIT_CONFIG_COUNT"},
	{name: "GIT_PROTOCOL_FROM_USER", env: []string{"GIT_PROTOCOL_FROM_USER=0"}, why: "GIT_PROTOCOL_FROM_USER"},
	{name: "GIT_SMART_HTTP", env: []string{"GIT_SMART_HTTP=0"}, why: "GIT_SMART_HTTP"},
	{name: "NETRC", env: []string{"NETRC=/x"}, why: "NETRC"},
	{name: "GnuTLS priorities", env: []string{"GNUTLS_SYSTEM_PRIORITY_FILE=/x"}, why: "GNUTLS_"},
	{name: "no HOME", env: []string{"HOME="}, passEnv: []string{"HOME="}, why: "HOME is not set"},
	{name: "another HOME", env: []string{"HOME=/home/other"}, why: "HOME differs"},
	{name: "another CA file", env: []string{"GIT_SSL_CAINFO=/other.pem"}, why: "GIT_SSL_CAINFO differs"},
	{name: "another global config", env: []string{"GIT_CONFIG_GLOBAL=/x"}, why: "GIT_CONFIG_GLOBAL differs"},
	{name: "a .netrc", netrc: true, why: ".netrc"},

	{name: "credential helper", entries: []Entry{entry("credential", "", "helper", "store")}, why: "credential.helper"},
	{name: "credential username", entries: []Entry{entry("credential", "", "username", "x")}, why: "credential.username"},
	{name: "credential helper for the host", entries: []Entry{entry("credential", "https://git.example.com", "helper", "x")}, why: "credential.<url>.helper"},
	{name: "credential helper for a wildcard", entries: []Entry{entry("credential", "https://*.example.com/", "helper", "x")}, why: "credential.<url>"},
	{name: "credential helper for a host without scheme", entries: []Entry{entry("credential", "example.org", "helper", "x")}, why: "credential.<url>"},
	{name: "insteadOf", entries: []Entry{entry("url", "https://mirror/", "insteadof", "https://user:tok@git.example.com:8443/")}, why: "insteadof rewrites"},
	{name: "pushInsteadOf", entries: []Entry{entry("url", "ssh://x/", "pushinsteadof", "https://user:tok@git.")}, why: "pushinsteadof"},
	{name: "http.proxy", entries: []Entry{entry("http", "", "proxy", "http://p")}, why: "http.proxy is set"},
	{name: "http.extraHeader", entries: []Entry{entry("http", "", "extraheader", "X: y")}, why: "http.extraheader"},
	{name: "http.sslVerify false", entries: []Entry{entry("http", "", "sslverify", "false")}, why: "sslVerify is not true"},
	{name: "http.sslVerify empty", entries: []Entry{entry("http", "", "sslverify", "")}, why: "sslVerify is not true"},
	{name: "http.<url> for the host", entries: []Entry{entry("http", "https://git.example.com:8443/team/", "sslverify", "true")}, why: "http.<url>.sslverify applies"},
	{name: "http.<url> with a user", entries: []Entry{entry("http", "https://me@GIT.example.com", "cookiefile", "x")}, why: "applies"},
	{name: "protocol.version 0", entries: []Entry{entry("protocol", "", "version", "0")}, why: "protocol.version"},
	{name: "protocol.allow user", entries: []Entry{entry("protocol", "", "allow", "user")}, why: "allow rules"},
	{name: "protocol.https.allow never", entries: []Entry{entry("protocol", "https", "allow", "never")}, why: "allow rules"},
	{name: "a remote named as the URL", entries: []Entry{entry("remote", decideRemote, "url", "x")}, why: "remote is named"},
	{name: "transfer.credentialsInUrl", entries: []Entry{entry("transfer", "", "credentialsinurl", "die")}, why: "credentialsinurl"},
}

func TestDecide(t *testing.T) {
	for _, tc := range decideCases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.remote
			if r == "" {
				r = decideRemote
			}
			passEnv := append(append([]string(nil), decidePass...), tc.passEnv...)
			snap := &Snapshot{Env: passEnv, Entries: tc.entries, Netrc: tc.netrc}
			env := append(append([]string(nil), decidePass...), tc.env...)
			why := Decide(r, snap, env)
			if tc.why == "" && why != "" || !strings.Contains(why, tc.why) {
				t.Errorf("Decide(%q) = %q, want %q", r, why, tc.why)
			}
		})
	}
}

func TestCAFile(t *testing.T) {
	cases := []struct {
		name      string
		env       []string
		entries   []Entry
		file, why string
	}{
		{name: "system roots"},
		{name: "GIT_SSL_CAINFO", env: []string{"GIT_SSL_CAINFO=/a.pem"}, file: "/a.pem"},
		{name: "http.sslCAInfo, the last one", entries: []Entry{{Section: "http", Name: "sslcainfo", Value: "/b.pem"},
			{Section: "http", Name: "sslcainfo", Value: "/c.pem"}}, file: "/c.pem"},
		{name: "the environment wins", env: []string{"GIT_SSL_CAINFO=/a.pem"},
			entries: []Entry{{Section: "http", Name: "sslcainfo", Value: "/b.pem"}}, file: "/a.pem"},
		{name: "empty GIT_SSL_CAINFO", env: []string{"GIT_SSL_CAINFO="}, why: "not an absolute path"},
		{name: "a ~ path", entries: []Entry{{Section: "http", Name: "sslcainfo", Value: "~/ca.pem"}}, why: "not an absolute path"},
		{name: "SSL_CERT_FILE without a git CA", env: []string{"SSL_CERT_FILE=/x.pem"}, why: "SSL_CERT_FILE is set"},
		{name: "SSL_CERT_DIR without a git CA", env: []string{"SSL_CERT_DIR=/x"}, why: "SSL_CERT_DIR is set"},
		{name: "SSL_CERT_FILE beside a git CA", env: []string{"SSL_CERT_FILE=/x.pem", "GIT_SSL_CAINFO=/a.pem"}, file: "/a.pem"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file, why := (&Snapshot{Env: tc.env, Entries: tc.entries}).caFile()
			if file != tc.file || !strings.Contains(why, tc.why) || tc.why == "" && why != "" {
				t.Errorf("caFile = %q, %q; want %q, %q", file, why, tc.file, tc.why)
			}
		})
	}
}

func TestBasicOnly(t *testing.T) {
	cases := []struct {
		challenges []string
		want       bool
	}{
		{[]string{`Basic realm="git"`}, true},
		{[]string{`basic realm="a, b", charset="UTF-8"`}, true},
		{[]string{`Basic`}, true},
		{[]string{`Basic realm="x\", Bearer y"`}, true},
		{nil, false},
		{[]string{`Bearer realm="x"`}, false},
		{[]string{`Negotiate`, `Basic realm="x"`}, false},
		{[]string{`Basic realm="x", Bearer realm="y"`}, false},
		{[]string{`Basic realm="x", Negotiate`}, false},
	}
	for _, tc := range cases {
		if got := basicOnly(tc.challenges); got != tc.want {
			t.Errorf("basicOnly(%q) = %v, want %v", tc.challenges, got, tc.want)
		}
	}
}
