// Package testenv holds what the tests of every package share: the one place where a test
// may skip for a missing tool (never under CI=true), waiting for a condition with a
// deadline instead of sleeping, and small fixtures.
package testenv

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// InCI reports whether the tests run under CI (CI=true), where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") == "true" }

// Require makes sure every tool is on PATH. A missing tool fails the test under CI and skips
// it elsewhere, saying which tool and how to get it.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			msg := tool + " is not installed (scripts/install-deps.sh installs it)"
			if InCI() {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// Eventually polls cond every few milliseconds until it returns true, and fails the test
// with msg if that has not happened within timeout.
func Eventually(t testing.TB, timeout time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, msg)
		}
		time.Sleep(5 * time.Millisecond) // a polling interval, not a wait for an effect
	}
}

// EndToEnd marks a test that runs the built binaries against real git, Docker and rsync;
// go test -short skips these for a quick loop (make test never passes -short).
func EndToEnd(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test; run without -short")
	}
}

// MountTmpfs mounts a tmpfs of size (as mount's size= option takes it) at dir for the test,
// to give it a disk that fills up. It needs root: without, it fails under CI and skips
// elsewhere.
func MountTmpfs(t testing.TB, dir, size string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if InCI() {
			t.Fatal("mounting a tmpfs needs root")
		}
		t.Skip("mounting a tmpfs needs root")
	}
	os.MkdirAll(dir, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "--lazy", dir).Run() })
}
