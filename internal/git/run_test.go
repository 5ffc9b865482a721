package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"pipelined/internal/procexec"
	"pipelined/internal/testenv"
)

func TestMessageKeepsGitsOwnWords(t *testing.T) {
	cases := []struct{ name, output, want string }{
		{"fatal lines, not the hint after them",
			"fatal: '/x.git' does not appear to be a git repository\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n",
			"fatal: '/x.git' does not appear to be a git repository; fatal: Could not read from remote repository."},
		{"the server's words", "remote: Repository not found.\nfatal: repository 'https://h/x/' not found\n",
			"remote: Repository not found.; fatal: repository 'https://h/x/' not found"},
		{"error lines", "hint: a\nerror: b\n", "error: b"},
		{"no prefix: the last lines", "1\n2\n3\n4\n5\n6\n7\n", "3; 4; 5; 6; 7"},
		{"many prefixed lines: the first four and the last",
			"remote: 1\nremote: 2\nremote: 3\nremote: 4\nremote: 5\nremote: 6\nfatal: 7\n",
			"remote: 1; remote: 2; remote: 3; remote: 4; fatal: 7"},
		{"blank", "\n  \n", ""},
	}
	for _, tc := range cases {
		if got := Message([]byte(tc.output)); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
	long := Message([]byte("fatal: " + strings.Repeat("é", 2000)))
	if len(long) > maxMessageBytes || !strings.HasSuffix(long, "…") || !strings.HasPrefix(long, "fatal: éé") {
		t.Errorf("a long message is not clipped to %d bytes with a mark: %d bytes, ends %q", maxMessageBytes, len(long), long[len(long)-8:])
	}
}

// The message of a real failure names the cause, not only the hint git ends with.
func TestLsRemoteErrorQuotesGit(t *testing.T) {
	testenv.Require(t, "git")
	missing := filepath.Join(t.TempDir(), "missing.git")
	_, _, err := LsRemote(context.Background(), missing, SafeEnv(os.Environ()), time.Minute)
	var exit *procexec.ExitError
	if err == nil || !errors.As(err, &exit) {
		t.Fatalf("err = %v, want a git exit error", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "fatal: '"+missing+"' does not appear to be a git repository") || strings.Contains(msg, "repository exists") {
		t.Errorf("the error does not quote git's fatal lines: %s", msg)
	}
}

// Credentials are masked in the remote and in git's words; port 1 refuses at once.
func TestLsRemoteErrorMasksCredentials(t *testing.T) {
	testenv.Require(t, "git")
	for _, remote := range []string{"https://deploy:s3cret@127.0.0.1:1/p.git", "http://s3cret@127.0.0.1:1/p.git"} {
		_, _, err := LsRemote(context.Background(), remote, SafeEnv(os.Environ()), time.Minute)
		if err == nil {
			t.Fatalf("%s: no error", remote)
		}
		if msg := err.Error(); strings.Contains(msg, "s3cret") || !strings.Contains(msg, "***@127.0.0.1:1/p.git") || !strings.Contains(msg, "fatal:") {
			t.Errorf("%s: %s", remote, msg)
		}
	}
}

// A remote with more refs than the cap allows is refused instead of parsed.
func TestLsRemoteRefusesMoreRefsThanItsCap(t *testing.T) {
	repo := testenv.NewRepo(t, nil)
	// Long names, written straight into packed-refs: 1.2 MiB of ls-remote output, fast.
	var packed strings.Builder
	packed.WriteString("# pack-refs with: peeled fully-peeled sorted \n")
	head, name := repo.Head(), strings.Repeat("n", 200)
	for i := 0; packed.Len() < MaxLsRemoteOutput*6/5; i++ {
		fmt.Fprintf(&packed, "%s refs/heads/%s%06d\n", head, name, i)
	}
	if err := os.WriteFile(filepath.Join(repo.Remote, "packed-refs"), []byte(packed.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	refs, _, err := LsRemote(context.Background(), repo.Remote, SafeEnv(os.Environ()), time.Minute)
	if err == nil || !strings.Contains(err.Error(), "more than 1024 KiB of refs") {
		t.Fatalf("err = %v with %d refs, want the cap's error", err, len(refs))
	}
}

// The cap bounds memory too: os/exec copies a command's output with io.Copy, which must
// not get past Write (as an embedded bytes.Buffer's ReadFrom did).
func TestCappedBufferHoldsItsCapThroughIOCopy(t *testing.T) {
	b := &cappedBuffer{max: 1000}
	n, err := io.Copy(b, strings.NewReader(strings.Repeat("x", 5000)))
	if !errors.Is(err, errOverflow) || !b.overflow || b.buf.Len() != 1000 || n != 1000 {
		t.Errorf("io.Copy of 5000 bytes: copied %d, kept %d, overflow %v, err %v", n, b.buf.Len(), b.overflow, err)
	}
}

// A git that prints 64 MiB is stopped at the cap, not read whole.
func TestLsRemoteCapBoundsMemory(t *testing.T) {
	testenv.Require(t, "sh", "yes", "head")
	dir := t.TempDir()
	line := strings.Repeat("a", 40) + "\trefs/heads/main"
	script := fmt.Sprintf("#!/bin/sh\nyes '%s' | head -c %d\n", line, 64<<20)
	if err := os.WriteFile(filepath.Join(dir, "git"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := LsRemote(context.Background(), "/any", SafeEnv(os.Environ()), time.Minute)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "more than 1024 KiB of refs") {
		t.Fatalf("err = %v, want the cap's error", err)
	}
	// Reading it all would allocate 64 MiB at least; a buffer growing by doubling up to the
	// 1 MiB cap allocates 2 to 5 MiB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("LsRemote allocated %d KiB for an output capped at 1024 KiB", alloc>>10)
	}
}
