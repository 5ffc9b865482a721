package testenv

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Gitea is a real Gitea server for one test, on 127.0.0.1, with its data in a temporary
// directory: the forge the end-to-end tests report to. Gitea is a test tool, built once by
// scripts/gitea.sh into a cache; it is never linked into pipelined.
type Gitea struct {
	URL      string // http://127.0.0.1:PORT, no trailing slash
	User     string // an admin user
	Password string
	Token    string // the user's access token (write:repository, write:user)

	t    testing.TB
	bin  string
	dir  string
	cmd  *exec.Cmd
	exit chan struct{}
	log  *Buffer
}

// GiteaBinary returns the cached Gitea binary. When it is missing, it is built by
// scripts/gitea.sh under CI (make test builds it before go test, so that this only waits
// for a build in progress), and the test is skipped elsewhere, saying how to build it.
func GiteaBinary(t testing.TB) string {
	t.Helper()
	Require(t, "git")
	_, self, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(self), "..", "..", "scripts", "gitea.sh")
	args := []string{"--check"}
	if InCI() {
		args = nil
	}
	out, err := exec.Command(script, args...).Output()
	if err != nil {
		msg := "gitea is not built: run scripts/gitea.sh (or make gitea) once; it takes 5 to 30 minutes"
		if InCI() {
			t.Fatalf("%s: %v", msg, err)
		}
		t.Skip(msg)
	}
	return strings.TrimSpace(string(out))
}

// StartGitea starts a Gitea of its own for the test, with an admin user and a token; it
// stops when the test ends.
func StartGitea(t testing.TB) *Gitea {
	t.Helper()
	bin := GiteaBinary(t)
	dir := t.TempDir()
	g := &Gitea{t: t, bin: bin, dir: dir, User: "pipelined", Password: "Pw-" + randomHex(8), log: &Buffer{}}
	g.URL = fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	if err := os.WriteFile(filepath.Join(dir, "app.ini"), []byte(g.appIni()), 0o600); err != nil {
		t.Fatal(err)
	}
	g.run("migrate")
	g.run("admin", "user", "create", "--admin", "--username", g.User, "--password", g.Password,
		"--email", g.User+"@example.org", "--must-change-password=false")
	g.Start()
	t.Cleanup(g.Stop)
	var tok struct{ SHA1 string }
	g.request("POST", "/api/v1/users/"+g.User+"/tokens", map[string]any{"name": "pipelined-test",
		"scopes": []string{"write:repository", "write:user"}}, &tok, true)
	if tok.SHA1 == "" {
		t.Fatal("gitea gave no token")
	}
	g.Token = tok.SHA1
	return g
}

// appIni is the configuration measured for v1.27.3 (docs research/forge.md): sqlite, no
// ssh, no mail, no actions, the templates from the source copy beside the binary (the build
// has no bindata), and, as root, the switch that lets it start.
func (g *Gitea) appIni() string {
	var b strings.Builder
	if os.Getuid() == 0 {
		b.WriteString("I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true\n")
	}
	port := strings.TrimPrefix(g.URL, "http://127.0.0.1:")
	fmt.Fprintf(&b, `APP_NAME = pipelined-test
RUN_MODE = prod
WORK_PATH = %[1]s

[server]
HTTP_ADDR = 127.0.0.1
HTTP_PORT = %[2]s
ROOT_URL = %[3]s/
DISABLE_SSH = true
OFFLINE_MODE = true
STATIC_ROOT_PATH = %[4]s
APP_DATA_PATH = %[1]s/data
LFS_START_SERVER = false

[database]
DB_TYPE = sqlite3
PATH = %[1]s/gitea.db

[security]
INSTALL_LOCK = true
SECRET_KEY = %[5]s

[service]
DISABLE_REGISTRATION = true

[repository]
ROOT = %[1]s/repos

[log]
MODE = console
LEVEL = Warn

[actions]
ENABLED = false

[cron]
ENABLED = false

[webhook]
ALLOWED_HOST_LIST = loopback
`, g.dir, port, g.URL, filepath.Join(filepath.Dir(g.bin), "src"), randomHex(16))
	return b.String()
}

// run runs a gitea command to its end.
func (g *Gitea) run(args ...string) {
	g.t.Helper()
	cmd := exec.Command(g.bin, append([]string{"--config", filepath.Join(g.dir, "app.ini"), "--work-path", g.dir}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+g.dir, "GITEA_WORK_DIR="+g.dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		g.t.Fatalf("gitea %s: %v\n%s", args[0], err, out)
	}
}

// Start starts the web server (again, after Stop, on the same port and data) and waits
// until its API answers.
func (g *Gitea) Start() {
	g.t.Helper()
	g.cmd = exec.Command(g.bin, "--config", filepath.Join(g.dir, "app.ini"), "--work-path", g.dir, "web")
	g.cmd.Env = append(os.Environ(), "HOME="+g.dir, "GITEA_WORK_DIR="+g.dir)
	g.cmd.Stdout, g.cmd.Stderr = g.log, g.log
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := g.cmd.Start(); err != nil {
		g.t.Fatalf("starting gitea: %v", err)
	}
	g.exit = make(chan struct{})
	go func(cmd *exec.Cmd, exit chan struct{}) { cmd.Wait(); close(exit) }(g.cmd, g.exit)
	Eventually(g.t, 2*time.Minute, "gitea did not answer", func() bool {
		select {
		case <-g.exit:
			g.t.Fatalf("gitea exited at start:\n%s", g.log)
		default:
		}
		resp, err := http.Get(g.URL + "/api/v1/version")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
}

// Stop stops the web server and waits for it: a forge that is down.
func (g *Gitea) Stop() {
	if g.cmd == nil {
		return
	}
	syscall.Kill(-g.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-g.exit:
	case <-time.After(30 * time.Second):
		syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
		<-g.exit
	}
	g.cmd = nil
}

// request calls the API with the token (or, with basic, the user's password), decodes a
// JSON answer into out (if not nil) and returns the status code. A 5xx or a failed request
// fails the test.
func (g *Gitea) request(method, path string, body, out any, basic bool) int {
	g.t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, g.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if basic {
		req.SetBasicAuth(g.User, g.Password)
	} else {
		req.Header.Set("Authorization", "token "+g.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("gitea %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 || (resp.StatusCode >= 400 && out != nil) {
		g.t.Fatalf("gitea %s %s: %s\n%s", method, path, resp.Status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			g.t.Fatalf("gitea %s %s: %v\n%s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

// API calls the API with the token; see request.
func (g *Gitea) API(method, path string, body, out any) int {
	g.t.Helper()
	return g.request(method, path, body, out, false)
}

// CreateRepo makes a repository of the user with a first commit on main, and returns the
// address to clone it with the user's password in it (for pushing from a test).
func (g *Gitea) CreateRepo(name string) (pushURL string) {
	g.t.Helper()
	g.API("POST", "/api/v1/user/repos", map[string]any{"name": name, "auto_init": true, "default_branch": "main"}, &struct{}{})
	return strings.Replace(g.URL, "http://", "http://"+g.User+":"+g.Password+"@", 1) + "/" + g.User + "/" + name + ".git"
}

// CloneURL is the address pipelined watches: no credentials (the repository is public).
func (g *Gitea) CloneURL(name string) string { return g.URL + "/" + g.User + "/" + name + ".git" }

// CommitStatus is a status as Gitea lists it.
type CommitStatus struct {
	ID          int64  `json:"id"`
	Status      string `json:"status"`
	Context     string `json:"context"`
	Description string `json:"description"`
	TargetURL   string `json:"target_url"`
}

// Statuses lists every status a commit was given, newest first.
func (g *Gitea) Statuses(repo, commit string) []CommitStatus {
	g.t.Helper()
	var out []CommitStatus
	g.API("GET", "/api/v1/repos/"+g.User+"/"+repo+"/commits/"+commit+"/statuses?limit=50", nil, &out)
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out
}

// CreatePull opens a pull request from head into base and returns its number.
func (g *Gitea) CreatePull(repo, head, base string) int {
	g.t.Helper()
	var pr struct{ Number int }
	g.API("POST", "/api/v1/repos/"+g.User+"/"+repo+"/pulls", map[string]any{"head": head, "base": base, "title": "change " + head}, &pr)
	return pr.Number
}

// ClosePull closes a pull request.
func (g *Gitea) ClosePull(repo string, n int) {
	g.t.Helper()
	g.API("PATCH", fmt.Sprintf("/api/v1/repos/%s/%s/pulls/%d", g.User, repo, n), map[string]any{"state": "closed"}, &struct{}{})
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Repo makes a repository on the Gitea and a work tree cloned from it, which pushes there
// (with the user's password); Remote is the address pipelined watches.
func (g *Gitea) Repo(name string) *Repo {
	g.t.Helper()
	push := g.CreateRepo(name)
	work := filepath.Join(g.t.TempDir(), "work")
	Git(g.t, "", "clone", "-q", push, work)
	return &Repo{t: g.t, Work: work, Remote: g.CloneURL(name)}
}
