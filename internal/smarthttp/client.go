package smarthttp

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// agent names this lister in the User-Agent header and the v2 agent capability. It starts
// with "git/", as servers expect of a git client.
const agent = "git/pipelined"

// maxAnswer bounds one HTTP answer. A v0 advertisement lists every ref of the repository
// (pull-request refs and all), so it may be much longer than the listing it yields; a
// longer one is left to git.
const maxAnswer = 8 << 20

// Connections kept per host between listings: as many as the watcher's widest
// concurrency, so that a pass over many repositories of one host opens each only once.
// An idle connection is closed after idleTimeout, well before the next pass of a watcher
// that stays resident.
const (
	maxIdlePerHost = 16
	idleTimeout    = 30 * time.Second
)

// Media types of the smart protocol (gitprotocol-http(5)).
const (
	advertType  = "application/x-git-upload-pack-advertisement"
	requestType = "application/x-git-upload-pack-request"
	resultType  = "application/x-git-upload-pack-result"
)

// Handles reports whether remote is an http(s) URL, the only kind a Client may list.
func Handles(remote string) bool {
	return strings.HasPrefix(remote, "https://") || strings.HasPrefix(remote, "http://")
}

// Client lists http(s) remotes for one pass of the watcher. It is safe for concurrent use.
type Client struct {
	env []string // the pass's environment: git's configuration is read with it

	mu sync.Mutex
	p  *pass // made by the first List
}

// pass is what a Client learns once: git's configuration, the TLS roots, the transport.
type pass struct {
	snap    *Snapshot
	snapErr error  // reading the configuration failed: git lists everything
	tlsWhy  string // why https remotes go to git ("" if they need not)
	tr      *http.Transport
	http    *http.Client
}

// New returns a Client for a pass whose environment is env (git.SafeEnv of the watcher's).
// Nothing is read or run until the first List.
func New(env []string) *Client { return &Client{env: env} }

// List returns the branches and tags of remote as git ls-remote --heads --tags --refs
// prints them, or an error wrapping ErrUseGit when git must list it instead. env is the
// environment git would list it with; timeout bounds the listing (both requests, and for
// the first call the reading of git's configuration). Other errors read like git's, the
// remote's credentials masked.
func (c *Client) List(ctx context.Context, remote string, env []string, timeout time.Duration) ([]byte, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	p := c.prepare(ctx)
	if why := p.decide(remote, env); why != "" {
		return nil, useGit("%s", why)
	}
	var handshake atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err != nil {
				handshake.Store(true)
			}
		},
	})
	out, err := p.list(ctx, remote)
	if err != nil {
		return nil, classify(ctx, remote, timeout, handshake.Load() || isTLSError(err), err)
	}
	return out, nil
}

// Close closes the connections kept for reuse. Listings still running finish.
func (c *Client) Close() {
	c.mu.Lock()
	p := c.p
	c.mu.Unlock()
	if p != nil {
		p.tr.CloseIdleConnections()
	}
}

// prepare learns, at the first call, what the pass needs: git's configuration (read within
// ctx, the first listing's time), the TLS roots, the transport.
func (c *Client) prepare(ctx context.Context) *pass {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.p != nil {
		return c.p
	}
	p := &pass{}
	var roots *x509.CertPool
	if p.snap, p.snapErr = ReadSnapshot(ctx, c.env); p.snapErr == nil {
		roots, p.tlsWhy = p.snap.roots()
	}
	p.tr = &http.Transport{
		Proxy:                  nil, // a proxy in git's configuration or environment sends the remote to git
		DialContext:            (&net.Dialer{}).DialContext,
		TLSClientConfig:        &tls.Config{RootCAs: roots},
		MaxIdleConnsPerHost:    maxIdlePerHost,
		IdleConnTimeout:        idleTimeout,
		MaxResponseHeaderBytes: 64 << 10,
	}
	// git follows a redirect of its first request and moves the repository's base URL with
	// it; rather than copy that, a redirected remote is listed by git.
	p.http = &http.Client{Transport: p.tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	c.p = p
	return p
}

// decide says why git must list remote, or "".
func (p *pass) decide(remote string, env []string) string {
	if p.snapErr != nil {
		return "reading git's configuration: " + p.snapErr.Error()
	}
	if why := Decide(remote, p.snap, env); why != "" {
		return why
	}
	if strings.HasPrefix(remote, "https://") {
		return p.tlsWhy
	}
	return ""
}

// list asks the server: GET info/refs, which a v0 server answers with every ref, and a v2
// server with its capabilities, after which a POST of ls-refs asks for branches and tags.
// Credentials in the URL are sent as git sends them: only once the server has asked, with
// Basic, and then on each request.
func (p *pass) list(ctx context.Context, remote string) ([]byte, error) {
	u, _ := url.Parse(remote) // Decide made sure it parses
	base := strings.TrimSuffix((&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String(), "/") + "/"
	discover := func(auth *url.Userinfo) (*http.Response, error) {
		return p.do(ctx, http.MethodGet, base+"info/refs?service=git-upload-pack", nil, auth)
	}
	resp, err := discover(nil)
	var auth *url.Userinfo
	if err == nil && resp.StatusCode == http.StatusUnauthorized && hasPassword(u.User) && basicOnly(resp.Header.Values("WWW-Authenticate")) {
		drain(resp)
		auth = u.User
		resp, err = discover(auth)
	}
	if err != nil {
		return nil, err
	}
	var l listing
	var caps map[string]string
	var v2 bool
	err = read(resp, advertType, func(r *pktReader) (err error) {
		caps, v2, err = readDiscovery(r, &l)
		return err
	})
	if err != nil || !v2 {
		return l.out, err
	}
	if resp, err = p.do(ctx, http.MethodPost, base+"git-upload-pack", lsRefsRequest(caps), auth); err != nil {
		return nil, err
	}
	err = read(resp, resultType, func(r *pktReader) error { return readLsRefs(r, &l) })
	return l.out, err
}

// do sends one request with the headers git sends.
func (p *pass) do(ctx context.Context, method, target string, body []byte, auth *url.Userinfo) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	// Cannot fail: the method is GET or POST, and target is a parsed URL written again.
	req, _ := http.NewRequestWithContext(ctx, method, target, rd)
	h := req.Header
	h.Set("User-Agent", agent)
	h.Set("Git-Protocol", "version=2")
	if method == http.MethodGet {
		h.Set("Accept", "*/*")
		h.Set("Pragma", "no-cache")
		h.Set("Cache-Control", "no-cache")
	} else {
		h.Set("Content-Type", requestType)
		h.Set("Accept", resultType)
		// ls-refs changes nothing: present (but never sent), this lets the transport send
		// it again when a kept connection turns out to have been closed by the server.
		h["Idempotency-Key"] = nil
	}
	if auth != nil {
		password, _ := auth.Password()
		req.SetBasicAuth(auth.Username(), password)
	}
	return p.http.Do(req)
}

// read checks an answer's status and media type, and parses its body, bounded by maxAnswer.
// The body is read to its end, so that the connection can serve the next request.
func read(resp *http.Response, mediaType string, parse func(*pktReader) error) error {
	defer drain(resp)
	switch code := resp.StatusCode; {
	case code >= 300 && code < 400:
		return useGit("redirected (HTTP %d)", code)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return useGit("the server asks for credentials (HTTP %d)", code)
	case code != http.StatusOK:
		return useGit("HTTP %d", code)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != mediaType {
		return useGit("not a smart-HTTP answer (Content-Type %q)", resp.Header.Get("Content-Type"))
	}
	return parse(newPktReader(&capped{r: resp.Body, left: maxAnswer}))
}

// drain reads what is left of a body (a little: a well-formed answer ends at its flush)
// and closes it.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// capped reads at most left bytes, and then fails.
type capped struct {
	r    io.Reader
	left int64
}

func (c *capped) Read(b []byte) (int, error) {
	if c.left <= 0 {
		return 0, useGit("an answer longer than %d MiB", maxAnswer>>20)
	}
	if int64(len(b)) > c.left {
		b = b[:c.left]
	}
	n, err := c.r.Read(b)
	c.left -= int64(n)
	return n, err
}

func hasPassword(u *url.Userinfo) bool {
	_, ok := u.Password()
	return u != nil && ok && u.Username() != ""
}

// basicOnly reports whether the server's challenges offer Basic and nothing else. git lets
// curl pick among what the server offers, and curl then sends Basic too; with any other
// scheme on offer, git is left to choose.
func basicOnly(challenges []string) bool {
	if len(challenges) != 1 {
		return false
	}
	scheme, params, _ := strings.Cut(strings.TrimSpace(challenges[0]), " ")
	if !strings.EqualFold(scheme, "Basic") {
		return false
	}
	// Each comma-separated part outside quotes must be a name=value parameter: a part that
	// starts with another word is a second scheme.
	quoted, start := false, 0
	for i := 0; i <= len(params); i++ {
		if i < len(params) && (params[i] == '"' || quoted && params[i] == '\\') {
			if params[i] == '\\' {
				i++
			} else {
				quoted = !quoted
			}
			continue
		}
		if i == len(params) || params[i] == ',' && !quoted {
			part := strings.TrimSpace(params[start:i])
			name, _, hasValue := strings.Cut(part, "=")
			if part != "" && (!hasValue || strings.ContainsAny(name, " \t")) {
				return false
			}
			start = i + 1
		}
	}
	return true
}
