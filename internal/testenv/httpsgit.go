package testenv

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
)

// HTTPSGit is a real git http-backend (as CGI) behind TLS on 127.0.0.1: the smart-HTTP
// server of gitprotocol-http(5) that GitHub, Gitea and GitLab speak.
type HTTPSGit struct {
	URL string // https://127.0.0.1:PORT; a repository DIR below the root is URL + "/DIR"

	mu       sync.Mutex
	agents   []string
	open     atomic.Int64
	accepted atomic.Int64
}

// HTTPSGitOptions change how the server answers.
type HTTPSGitOptions struct {
	// V0Only drops the Git-Protocol header before the backend sees it, as a web server
	// that does not pass it on does: the backend then speaks protocol v0 only.
	V0Only bool
	// User and Password, if set, are required (HTTP Basic): other requests get 401.
	User, Password string
}

// ServeGitHTTPS serves the repositories below root with git http-backend until the test ends.
func ServeGitHTTPS(t testing.TB, ca *CA, root string, o HTTPSGitOptions) *HTTPSGit {
	t.Helper()
	Require(t, "git")
	gitPath, _ := exec.LookPath("git")
	backend := &cgi.Handler{Path: gitPath, Args: []string{"http-backend"}, Dir: root,
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + root}}
	s := &HTTPSGit{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.agents = append(s.agents, r.UserAgent())
		s.mu.Unlock()
		if user, password, _ := r.BasicAuth(); o.User != "" && (user != o.User || password != o.Password) {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		if o.V0Only {
			r.Header.Del("Git-Protocol")
		}
		backend.ServeHTTP(w, r)
	}))
	srv.TLS = ca.ServerConfig(t)
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		switch state {
		case http.StateNew:
			s.open.Add(1)
			s.accepted.Add(1)
		case http.StateClosed, http.StateHijacked:
			s.open.Add(-1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Agents returns the User-Agent of every request so far, in order.
func (s *HTTPSGit) Agents() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.agents...)
}

// Connections is the number of client connections accepted so far.
func (s *HTTPSGit) Connections() int { return int(s.accepted.Load()) }

// OpenConnections is the number of client connections open now.
func (s *HTTPSGit) OpenConnections() int { return int(s.open.Load()) }

// HangingTLSServer accepts connections on 127.0.0.1, completes the TLS handshake with a
// certificate of ca, reads what the client sends and never answers: an https remote that
// hangs. It returns the address and the number of connections the client has not closed.
func HangingTLSServer(t testing.TB, ca *CA) (addr string, open func() int) {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", ca.ServerConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	closed := false
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				c.Close()
				return
			}
			conns = append(conns, c)
			n.Add(1)
			wg.Add(1)
			mu.Unlock()
			go func() { // reads until the client closes: never a byte back
				defer wg.Done()
				defer n.Add(-1)
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String(), func() int { return int(n.Load()) }
}
