package smarthttp

import (
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

// manyRefs makes the bare repository root/name.git with hundreds of branches and tags:
// lightweight and annotated tags (and a tag of a tag), unusual but valid names, names git
// refuses to build from (a component starting with "-"), refs outside refs/heads/ and
// refs/tags/, some refs packed and some loose.
func manyRefs(t *testing.T, root, name string) string {
	t.Helper()
	bare := filepath.Join(root, name+".git")
	testenv.Git(t, "", "init", "-q", "--bare", bare)
	tree := testenv.GitStdin(t, bare, "", "hash-object", "-w", "-t", "tree", "--stdin")
	var commits []string
	for i := 0; i < 5; i++ {
		commits = append(commits, testenv.Git(t, bare, "commit-tree", tree, "-m", fmt.Sprint("commit ", i)))
	}
	tag := func(object, typ, name string) string {
		return testenv.GitStdin(t, bare, fmt.Sprintf("object %s\ntype %s\ntag %s\ntagger T <t@example.com> 0 +0000\n\n%s\n",
			object, typ, name, name), "mktag")
	}
	annotated := []string{tag(commits[0], "commit", "a"), tag(commits[1], "commit", "b")}
	annotated = append(annotated, tag(annotated[0], "tag", "tag-of-a"))
	var cmds strings.Builder
	for i := 0; i < 250; i++ {
		fmt.Fprintf(&cmds, "create refs/heads/b%03d %s\n", i, commits[i%len(commits)])
	}
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&cmds, "create refs/tags/l%03d %s\n", i, commits[i%len(commits)])
		fmt.Fprintf(&cmds, "create refs/tags/a%03d %s\n", i, annotated[i%len(annotated)])
	}
	for _, ref := range []string{"refs/notes/commits", "refs/pull/1/head", "refs/changes/01/1/1", "refs/heads/main"} {
		fmt.Fprintf(&cmds, "create %s %s\n", ref, commits[4])
	}
	testenv.GitStdin(t, bare, cmds.String(), "update-ref", "--stdin")
	testenv.Git(t, bare, "pack-refs", "--all")
	cmds.Reset()
	for _, n := range []string{"heads/ünïcödé", "heads/a+b@c", "heads/x/y/z/deep", "tags/v1.0.0-rc.1+build.5",
		"heads/!$&'()=,;", "heads/-dash", "heads/x/-y", "heads/with#hash", "heads/100%", "heads/{braces}", "tags/b999"} {
		fmt.Fprintf(&cmds, "create refs/%s %s\n", n, commits[3])
	}
	fmt.Fprintf(&cmds, "create refs/tags/annotated-loose %s\n", annotated[2])
	testenv.GitStdin(t, bare, cmds.String(), "update-ref", "--stdin")
	return bare
}

// lsRemote is what git itself prints for the remote.
func lsRemote(t *testing.T, env []string, remote string) []byte {
	t.Helper()
	cmd := exec.Command("git", git.LsRemoteArgs(remote)[1:]...)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-remote %s: %v", remote, err)
	}
	return out
}

// count counts the requests of an agent.
func count(agents []string, agent string) int {
	n := 0
	for _, a := range agents {
		if a == agent {
			n++
		}
	}
	return n
}

func TestListIsWhatGitLsRemotePrints(t *testing.T) {
	root := t.TempDir()
	manyRefs(t, root, "many")
	testenv.Git(t, "", "init", "-q", "--bare", filepath.Join(root, "empty.git"))
	ca := testenv.NewCA(t)
	env := git.SafeEnv(testenv.IsolatedGitEnv(t, "", "GIT_SSL_CAINFO="+ca.File))
	for _, o := range []testenv.HTTPSGitOptions{{}, {V0Only: true}} {
		srv := testenv.ServeGitHTTPS(t, ca, root, o)
		c := New(env)
		for _, repo := range []string{"many", "empty"} {
			remote := srv.URL + "/" + repo + ".git"
			got, err := c.List(t.Context(), remote, env, time.Minute)
			if err != nil {
				t.Fatalf("v0 only %v: List(%s): %v", o.V0Only, repo, err)
			}
			want := lsRemote(t, env, remote)
			if string(got) != string(want) {
				t.Fatalf("v0 only %v, %s: in-process listing differs from git ls-remote:\n%s\nwant:\n%s", o.V0Only, repo, got, want)
			}
			refs, problems := git.ParseLsRemote(got)
			if repo == "many" && (len(refs) != 461 || len(problems) != 2) {
				t.Fatalf("%d refs and problems %q; want 461, and the two option-like names", len(refs), problems)
			}
		}
		// One request per repository from a v0 server, two (info/refs, ls-refs) from v2.
		perRepo := map[bool]int{false: 2, true: 1}[o.V0Only]
		if n := count(srv.Agents(), agent); n != 2*perRepo {
			t.Errorf("v0 only %v: %d requests from the in-process lister, want %d", o.V0Only, n, 2*perRepo)
		}
		c.Close()
	}
}

func TestListSendsTheURLsCredentialsAsGitDoes(t *testing.T) {
	root := t.TempDir()
	manyRefs(t, root, "private")
	ca := testenv.NewCA(t)
	env := git.SafeEnv(testenv.IsolatedGitEnv(t, "", "GIT_SSL_CAINFO="+ca.File))
	srv := testenv.ServeGitHTTPS(t, ca, root, testenv.HTTPSGitOptions{User: "bot", Password: "s3cr%t"})
	c := New(env)
	defer c.Close()
	withCredentials := strings.Replace(srv.URL, "https://", "https://bot:s3cr%25t@", 1) + "/private.git"
	got, err := c.List(t.Context(), withCredentials, env, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if want := lsRemote(t, env, withCredentials); string(got) != string(want) {
		t.Fatalf("listing with credentials differs from git's")
	}
	// Asked without credentials first (401), then with them, for info/refs and ls-refs.
	if n := count(srv.Agents(), agent); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	for _, remote := range []string{srv.URL + "/private.git", strings.Replace(withCredentials, "s3cr%25t", "wrong", 1)} {
		_, err := c.List(t.Context(), remote, env, time.Minute)
		if !errors.Is(err, ErrUseGit) || !strings.Contains(err.Error(), "HTTP 401") || strings.Contains(err.Error(), "wrong") {
			t.Errorf("List(%s) error %v, want ErrUseGit for the 401, no password", git.MaskURL(remote), err)
		}
	}
}
