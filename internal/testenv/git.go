package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Repo is a git repository made for a test: a work tree to commit in, and a bare remote
// that pipelined watches and clones (by path or through git daemon).
type Repo struct {
	t      testing.TB
	Work   string // non-bare repository where commits are made
	Remote string // bare repository, the remote
}

// NewRepo makes a repository with one commit on main, and its bare remote.
func NewRepo(t testing.TB, files map[string]string) *Repo {
	t.Helper()
	Require(t, "git")
	dir := t.TempDir()
	r := &Repo{t: t, Work: filepath.Join(dir, "work"), Remote: filepath.Join(dir, "remote.git")}
	Git(t, "", "init", "-q", "-b", "main", r.Work)
	Git(t, "", "init", "-q", "--bare", r.Remote)
	Git(t, r.Work, "remote", "add", "origin", r.Remote)
	if files == nil {
		files = map[string]string{"README": "hello\n"}
	}
	r.Commit("initial", files)
	r.Push("main")
	return r
}

// Git runs git in dir with a fixed identity and returns its trimmed output, failing the
// test if it fails.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	if dir != "" {
		args = append([]string{"-C", dir}, args...)
	}
	cmd := exec.Command("git", args...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@example.com", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Commit writes files (path → content) into the work tree and commits them on the current
// branch; it returns the commit id.
func (r *Repo) Commit(msg string, files map[string]string) string {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.Work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(content, "#!") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			r.t.Fatal(err)
		}
	}
	Git(r.t, r.Work, "add", "-A")
	Git(r.t, r.Work, "commit", "-q", "--allow-empty", "-m", msg)
	return r.Head()
}

// Head returns the commit the work tree is at.
func (r *Repo) Head() string { return Git(r.t, r.Work, "rev-parse", "HEAD") }

// Branch creates (or moves) a branch at the current commit and switches to it.
func (r *Repo) Branch(name string) { Git(r.t, r.Work, "checkout", "-q", "-B", name) }

// Tag creates an annotated tag at the current commit and pushes it.
func (r *Repo) Tag(name string) {
	Git(r.t, r.Work, "tag", "-a", "-m", name, name)
	Git(r.t, r.Work, "push", "-q", "origin", "refs/tags/"+name)
}

// Push pushes branches to the remote, forcing.
func (r *Repo) Push(branches ...string) {
	for _, b := range branches {
		Git(r.t, r.Work, "push", "-q", "-f", "origin", b+":refs/heads/"+b)
	}
}

// PushRef pushes a commit to any ref name of the remote (for names a work tree cannot
// check out comfortably).
func (r *Repo) PushRef(commit, ref string) {
	Git(r.t, r.Work, "push", "-q", "-f", "origin", commit+":"+ref)
}

// DeleteRef deletes a ref from the remote.
func (r *Repo) DeleteRef(ref string) { Git(r.t, r.Work, "push", "-q", "origin", ":"+ref) }

// GitStdin runs git in dir with stdin and returns its trimmed output.
func GitStdin(t testing.TB, dir, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}
