package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pipelined/internal/testenv"
)

// nginx is a real web server (Debian's nginx) serving a work directory on 127.0.0.1 the
// way docs/status-page.md tells an operator to: no symbolic links followed, .pipelined/
// denied, build.log as text.
type nginx struct {
	base      string // http://127.0.0.1:PORT
	accessLog string
}

func startNginx(t *testing.T, s *site) *nginx {
	t.Helper()
	testenv.Require(t, "nginx")
	dir := filepath.Join(s.dir, "nginx")
	os.MkdirAll(dir, 0o755)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	user := "" // as root, the workers would otherwise be nobody, who cannot read the test's directories
	if os.Getuid() == 0 {
		user = "user root root;\n"
	}
	conf := s.file("nginx/nginx.conf", fmt.Sprintf(`%[1]sdaemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log;
events { worker_connections 64; }
http {
  access_log %[2]s/access.log;
  client_body_temp_path %[2]s/body; proxy_temp_path %[2]s/proxy; fastcgi_temp_path %[2]s/fastcgi;
  uwsgi_temp_path %[2]s/uwsgi; scgi_temp_path %[2]s/scgi;
  types { text/html html; image/svg+xml svg; application/json json; text/plain log; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:%[3]d;
    root %[4]s;
    disable_symlinks on;
    location /.pipelined/ { deny all; }
  }
}
`, user, dir, port, s.workdir), 0o644)
	p := startProcess(t, lookPath(t, "nginx"), "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"))
	n := &nginx{base: fmt.Sprintf("http://127.0.0.1:%d", port), accessLog: filepath.Join(dir, "access.log")}
	testenv.Eventually(t, 30*time.Second, "nginx does not answer", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil || p.exited()
	})
	if p.exited() {
		t.Fatalf("nginx exited:\n%s\n%s", p.stderr(), readFile(t, filepath.Join(dir, "error.log")))
	}
	return n
}

// requests counts the requests in the access log whose request line holds path and whose
// status is one of codes (any, if none).
func (n *nginx) requests(path string, codes ...string) int {
	data, _ := os.ReadFile(n.accessLog)
	count := 0
	for _, line := range strings.Split(string(data), "\n") {
		_, rest, ok := strings.Cut(line, `"GET `)
		if !ok {
			continue
		}
		req, after, _ := strings.Cut(rest, `"`)
		status := strings.Fields(after + " -")[0]
		if strings.Contains(req, path+" ") && (len(codes) == 0 || strings.Contains(strings.Join(codes, " "), status)) {
			count++
		}
	}
	return count
}

// get fetches a URL from the web server and returns its status and body.
func (n *nginx) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(n.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var chromiumFlags = []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
	"--window-size=1100,900"}

// dumpDOM runs headless Chromium on a URL and returns the DOM after the page's scripts had
// budget of (virtual) time; with png, it also takes a screenshot.
func dumpDOM(t *testing.T, url string, budget time.Duration, png string) string {
	t.Helper()
	testenv.Require(t, "chromium")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	args := append(chromiumFlags, "--user-data-dir="+t.TempDir(), fmt.Sprintf("--virtual-time-budget=%d", budget.Milliseconds()))
	if png != "" {
		if out, err := exec.CommandContext(ctx, "chromium", append(args, "--screenshot="+png, url)...).CombinedOutput(); err != nil {
			t.Fatalf("chromium --screenshot %s: %v\n%s", url, err, out)
		}
	}
	dom, err := exec.CommandContext(ctx, "chromium", append(args, "--dump-dom", url)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom %s: %v", url, err)
	}
	return string(dom)
}

// openBrowser keeps headless Chromium on a URL, as a person leaves a tab open, until it is
// closed or the test ends.
func openBrowser(t *testing.T, url string) *process {
	t.Helper()
	testenv.Require(t, "chromium")
	return startProcess(t, lookPath(t, "chromium"), append(chromiumFlags, "--user-data-dir="+t.TempDir(), url)...)
}
