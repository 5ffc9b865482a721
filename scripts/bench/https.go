package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"pipelined/internal/git"
	"pipelined/internal/smarthttp"
)

// serveEnv names the directory a child of the benchmark serves with git http-backend
// behind TLS (see serveHTTPS): the server's CPU is then its own, not the benchmark's.
const serveEnv = "PIPELINED_BENCH_SERVE_HTTPS"

// httpsListing is the CPU of listing an https remote (git http-backend behind TLS on
// 127.0.0.1, 500 refs): git ls-remote against pipelined's in-process lister, the same
// repository over the same server in the same run; and a pipeline-watch pass over 1,000
// https remotes, as the share of one core that 1,000 remotes a minute cost.
func (b *bench) httpsListing() {
	const gitCalls, ownCalls, remotes = 20, 200, 1000
	root := filepath.Join(b.tmp, "https")
	bare, commit := b.repoWithRefs("https-refs", 400, 100)
	paths := links(root, bare, remotes)
	url, ca := b.serveHTTPS(root)
	env := httpsEnv(b.tmp, ca)
	var urls []string
	for _, p := range paths {
		urls = append(urls, url+"/"+filepath.Base(p))
	}

	var script strings.Builder
	for _, r := range urls[:gitCalls] {
		fmt.Fprintf(&script, "git --no-pager ls-remote --heads --tags --refs --quiet -- '%s' >/dev/null || exit 1\n", r)
	}
	viaGit := ms(must(measureIn(env, "sh", "-c", script.String())).cpu) / gitCalls
	own := ownListingCPU(env, urls[:ownCalls]) / ownCalls
	b.report("anchor: git ls-remote CPU per https listing", viaGit, "ms", "500 refs, local TLS git http-backend")
	b.report("https listing CPU, in-process", own, "ms", fmt.Sprintf("%d listings, one connection", ownCalls))
	b.add("https listing, git ls-remote CPU ÷ in-process CPU", viaGit/own, "×", 20, false, "same repository and server, same run")

	workdir := filepath.Join(b.tmp, "https-work")
	cfg := b.projects("https", urls, commit, workdir, "")
	before := agents(url, ca)
	u := must(measureIn(env, filepath.Join(b.bin, "pipeline-watch"), "--config", cfg, "--workdir", workdir, "--once",
		"--concurrency", "16"))
	after := agents(url, ca)
	for agent, n := range after {
		if want := before[agent] + map[bool]int{true: 2 * remotes}[agent == "git/pipelined"]; n != want {
			fail(fmt.Errorf("the pass did not list every remote in-process: %d requests by %q, want %d", n, agent, want))
		}
	}
	b.add("1,000 https remotes a minute, share of one core", u.cpu.Seconds()/60*100, "%", 5, true,
		fmt.Sprintf("pass %.1f s wall, %.2f CPU-s; through git ≈ %.0f %%", u.wall.Seconds(), u.cpu.Seconds(), viaGit*remotes/60/10))
}

// ownListingCPU lists every remote once with one in-process client, as a pass does, and
// returns the CPU this process spent, in milliseconds.
func ownListingCPU(env, urls []string) float64 {
	c := smarthttp.New(git.SafeEnv(env))
	defer c.Close()
	// The first listing reads git's configuration (one git config) and opens the
	// connection: what every pass costs once.
	if _, err := c.List(context.Background(), urls[0], git.SafeEnv(env), time.Minute); err != nil {
		fail(err)
	}
	start := selfCPU()
	for _, u := range urls {
		if _, err := c.List(context.Background(), u, git.SafeEnv(env), time.Minute); err != nil {
			fail(err)
		}
	}
	return ms(selfCPU() - start)
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// httpsEnv is the benchmark's environment without what would send https remotes to git
// (proxies, GIT_ variables, the machine's CA settings), with the server's CA and a HOME
// and global configuration of its own.
func httpsEnv(tmp, ca string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasSuffix(strings.ToLower(name), "_proxy") || strings.HasPrefix(name, "GIT_") ||
			strings.HasPrefix(name, "SSL_CERT_") || name == "HOME" || name == "XDG_CONFIG_HOME" {
			continue
		}
		env = append(env, kv)
	}
	home := filepath.Join(tmp, "https-home")
	os.MkdirAll(home, 0o755)
	os.WriteFile(filepath.Join(home, "gitconfig"), nil, 0o644)
	return append(env, "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+filepath.Join(home, "gitconfig"),
		"GIT_SSL_CAINFO="+ca)
}

// repoWithRefs makes a bare repository with branches and tags (every other tag annotated).
func (b *bench) repoWithRefs(name string, branches, tags int) (string, string) {
	bare, commit := b.repo(name)
	sh(bare, "git", "tag", "-a", "-m", "bench", "annotated", commit)
	object := sh(bare, "git", "rev-parse", "refs/tags/annotated")
	var cmds strings.Builder
	for i := 0; i < branches; i++ {
		fmt.Fprintf(&cmds, "create refs/heads/branch-%04d %s\n", i, commit)
	}
	for i := 0; i < tags; i++ {
		target := map[bool]string{true: object, false: commit}[i%2 == 0]
		fmt.Fprintf(&cmds, "create refs/tags/v%d.%d %s\n", i/10, i%10, target)
	}
	cmd := exec.Command("git", "-C", bare, "update-ref", "--stdin")
	cmd.Stdin = strings.NewReader(cmds.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		fail(fmt.Errorf("update-ref: %v: %s", err, out))
	}
	return bare, commit
}

// serveHTTPS starts a child of the benchmark serving root, and returns its URL and the
// file holding its certificate (self-signed, for 127.0.0.1).
func (b *bench) serveHTTPS(root string) (url, ca string) {
	self, err := os.Executable()
	if err != nil {
		fail(err)
	}
	b.background([]string{serveEnv + "=" + root}, self)
	urlFile := filepath.Join(root, ".url")
	waitFor(func() bool { _, err := os.Stat(urlFile); return err == nil }, 30*time.Second)
	data, err := os.ReadFile(urlFile)
	if err != nil {
		fail(fmt.Errorf("the https server did not start: %v", err))
	}
	return strings.TrimSpace(string(data)), filepath.Join(root, ".ca.pem")
}

// serveHTTPS is the child: git http-backend through net/http/cgi behind TLS, counting the
// requests of each User-Agent (served at /.agents) to tell who asked, git or pipelined.
func serveHTTPS(root string) {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		fail(err)
	}
	backend := &cgi.Handler{Path: gitPath, Args: []string{"http-backend"}, Dir: root,
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + root}}
	var mu sync.Mutex
	counts := map[string]int{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if r.URL.Path == "/.agents" {
			json.NewEncoder(w).Encode(counts)
			mu.Unlock()
			return
		}
		counts[r.UserAgent()]++
		mu.Unlock()
		backend.ServeHTTP(w, r)
	}))
	srv.StartTLS()
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	os.WriteFile(filepath.Join(root, ".ca.pem"), pemData, 0o644)
	os.WriteFile(filepath.Join(root, ".url.tmp"), []byte(srv.URL+"\n"), 0o644)
	os.Rename(filepath.Join(root, ".url.tmp"), filepath.Join(root, ".url"))
	select {}
}

// agents asks the server for its count of requests per User-Agent.
func agents(url, ca string) map[string]int {
	data, err := os.ReadFile(ca)
	if err != nil {
		fail(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(data)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer c.CloseIdleConnections()
	resp, err := c.Get(url + "/.agents")
	if err != nil {
		fail(err)
	}
	defer resp.Body.Close()
	counts := map[string]int{}
	json.NewDecoder(resp.Body).Decode(&counts)
	return counts
}
