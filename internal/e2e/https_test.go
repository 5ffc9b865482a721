package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pipelined/internal/git"
	"pipelined/internal/testenv"
)

// watchOnceIn runs one pass of pipeline-watch with exactly the environment env.
func (s *site) watchOnceIn(env []string, args ...string) result {
	s.t.Helper()
	s.makeWorkdir()
	cmd := exec.Command(bin.watch, append([]string{"--config", s.config, "--workdir", s.workdir, "--once"}, args...)...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		s.t.Fatalf("running pipeline-watch: %v", err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// jobsOfListing are the jobs project would get for every ref git ls-remote lists.
func jobsOfListing(t *testing.T, env []string, project, remote string) []string {
	t.Helper()
	cmd := exec.Command("git", git.LsRemoteArgs(remote)[1:]...)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-remote %s: %v", remote, err)
	}
	refs, _ := git.ParseLsRemote(out)
	var jobs []string
	for _, r := range refs {
		jobs = append(jobs, fmt.Sprintf("%s %s %s", project, r.Name, r.Commit))
	}
	return jobs
}

// agentsOf counts the requests made by git itself and by pipelined's in-process lister.
func agentsOf(srv *testenv.HTTPSGit) (byGit, inProcess int) {
	for _, a := range srv.Agents() {
		switch {
		case strings.HasPrefix(a, "git/2."):
			byGit++
		case a == "git/pipelined":
			inProcess++
		}
	}
	return byGit, inProcess
}

// httpsRepo makes a repository with a branch, an annotated and a lightweight tag, served
// below a directory of its own; it returns that directory, the repository, and the commit
// of main.
func httpsRepo(t *testing.T) (root string, repo *testenv.Repo, main string) {
	repo = testenv.NewRepo(t, nil)
	main = repo.Head()
	repo.Branch("feature/x")
	repo.Commit("feature", map[string]string{"f": "1\n"})
	repo.Push("feature/x")
	repo.Tag("v1.0")
	repo.PushRef(repo.Head(), "refs/tags/light")
	return filepath.Dir(repo.Remote), repo, main
}

func TestWatchListsHTTPSRemotesInProcess(t *testing.T) {
	s := newSite(t)
	root, repo, _ := httpsRepo(t)
	ca := testenv.NewCA(t)
	v2 := testenv.ServeGitHTTPS(t, ca, root, testenv.HTTPSGitOptions{})
	v0 := testenv.ServeGitHTTPS(t, ca, root, testenv.HTTPSGitOptions{V0Only: true})
	remote := "/" + filepath.Base(repo.Remote)
	s.writeConfig("[v2]\nremote = %s\nbranches = .*\ntags = .*\n\n[v0]\nremote = %s\nbranches = .*\ntags = .*\n",
		v2.URL+remote, v0.URL+remote)
	env := testenv.IsolatedGitEnv(t, "", "GIT_SSL_CAINFO="+ca.File)
	res := s.watchOnceIn(env)
	if res.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	want := append(jobsOfListing(t, env, "v0", v0.URL+remote), jobsOfListing(t, env, "v2", v2.URL+remote)...)
	if len(want) != 8 {
		t.Fatalf("git lists %q; want main, feature/x and two tags twice", want)
	}
	equalJobs(t, "https remotes", s.queued(), want)
	for name, srv := range map[string]*testenv.HTTPSGit{"v2": v2, "v0": v0} {
		// Our passes: one request to a v0 server, two to a v2 one; git's: the jobsOfListing.
		byGit, inProcess := agentsOf(srv)
		if wantIn := map[string]int{"v2": 2, "v0": 1}[name]; inProcess != wantIn || byGit == 0 {
			t.Errorf("%s server: %d requests in-process, want %d; %d by git", name, inProcess, wantIn, byGit)
		}
	}
}

func TestWatchListsThroughGitWhenACredentialHelperIsSet(t *testing.T) {
	s := newSite(t)
	root, repo, main := httpsRepo(t)
	ca := testenv.NewCA(t)
	srv := testenv.ServeGitHTTPS(t, ca, root, testenv.HTTPSGitOptions{User: "bot", Password: "s3cret"})
	store := s.file("git-credentials", strings.Replace(srv.URL, "https://", "https://bot:s3cret@", 1)+"\n", 0o600)
	env := testenv.IsolatedGitEnv(t, fmt.Sprintf("[credential]\n\thelper = store --file=%s\n", store), "GIT_SSL_CAINFO="+ca.File)
	url := srv.URL + "/" + filepath.Base(repo.Remote)
	s.writeConfig("[private]\nremote = %s\nbranches = main\n", url)
	res := s.watchOnceIn(env)
	if res.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	equalJobs(t, "remote behind a credential helper", s.queued(), []string{"private refs/heads/main " + main})
	if byGit, inProcess := agentsOf(srv); inProcess != 0 || byGit == 0 {
		t.Errorf("%d requests in-process, %d by git; want git only", inProcess, byGit)
	}
}

func TestWatchListsThroughGitARemoteThatInsteadOfRewrites(t *testing.T) {
	s := newSite(t)
	root, repo, main := httpsRepo(t)
	ca := testenv.NewCA(t)
	srv := testenv.ServeGitHTTPS(t, ca, root, testenv.HTTPSGitOptions{})
	// The alias names a path the server does not have: only git's rewrite finds the repository.
	env := testenv.IsolatedGitEnv(t, fmt.Sprintf("[url %q]\n\tinsteadOf = %s/alias/\n", srv.URL+"/", srv.URL), "GIT_SSL_CAINFO="+ca.File)
	s.writeConfig("[aliased]\nremote = %s/alias/%s\nbranches = main\n", srv.URL, filepath.Base(repo.Remote))
	res := s.watchOnceIn(env)
	if res.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	equalJobs(t, "rewritten remote", s.queued(), []string{"aliased refs/heads/main " + main})
	if byGit, inProcess := agentsOf(srv); inProcess != 0 || byGit == 0 {
		t.Errorf("%d requests in-process, %d by git; want git only", inProcess, byGit)
	}
}

func TestWatchCopesWithAHungHTTPSRemote(t *testing.T) {
	s := newSite(t)
	root, repo, main := httpsRepo(t)
	ca := testenv.NewCA(t)
	srv := testenv.ServeGitHTTPS(t, ca, root, testenv.HTTPSGitOptions{})
	hung, open := testenv.HangingTLSServer(t, ca)
	hungURL := "https://bot:hunter2@" + hung + "/stuck.git"
	s.writeConfig("[stuck]\nremote = %s\nbranches = main\n\n[ok]\nremote = %s/%s\nbranches = main\n",
		hungURL, srv.URL, filepath.Base(repo.Remote))
	start := time.Now()
	res := s.watchOnceIn(testenv.IsolatedGitEnv(t, "", "GIT_SSL_CAINFO="+ca.File), "--timeout", "3")
	took := time.Since(start)
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", res.code, res.stderr)
	}
	equalJobs(t, "healthy remote", s.queued(), []string{"ok refs/heads/main " + main})
	masked := "https://bot:***@" + hung + "/stuck.git"
	if !strings.Contains(res.stderr, "cannot list the remote") || !strings.Contains(res.stderr, masked) ||
		!strings.Contains(res.stderr, "operation timed out after 3s") || strings.Contains(res.stderr+res.stdout, "hunter2") {
		t.Errorf("the hung remote was not reported as git reports it, masked:\n%s", res.stderr)
	}
	// The hung server takes its 3 s timeout, the healthy one a TLS handshake or two at the
	// same time; 20 s more are for git and TLS starting on two busy cores. A pass without
	// the timeout would never end.
	if took > 3*time.Second+20*time.Second {
		t.Errorf("the pass took %v with a 3 s timeout", took)
	}
	testenv.Eventually(t, 30*time.Second, "connections to the hung server left open", func() bool { return open() == 0 })
}
