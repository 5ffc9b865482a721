package testenv

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// GitDaemon serves every repository below base with git daemon on 127.0.0.1 and returns
// the URL prefix, "git://127.0.0.1:PORT/". It stops when the test ends.
func GitDaemon(t testing.TB, base string) string {
	t.Helper()
	Require(t, "git")
	port := freePort(t)
	cmd := exec.Command("git", "daemon", "--export-all", "--reuseaddr", "--base-path="+base,
		"--listen=127.0.0.1", "--port="+strconv.Itoa(port), "--max-connections=64", base)
	// git runs git-daemon as a child, which serves each connection from a child of its own:
	// the whole process group goes when the test ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("git daemon: %v", err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	Eventually(t, 10*time.Second, "git daemon did not start listening", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return fmt.Sprintf("git://127.0.0.1:%d/", port)
}

// HangingServer accepts TCP connections on 127.0.0.1 and never answers: a remote that
// hangs. It returns the address.
func HangingServer(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hold(t, l)
	return l.Addr().String()
}

// hold accepts connections on l and holds them open, never reading or writing, until the
// test ends.
func hold(t testing.TB, l net.Listener) {
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never read or written
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// HangingUnixServer accepts connections on a Unix socket at path and never answers: a
// Docker engine that hangs (DOCKER_HOST=unix://path).
func HangingUnixServer(t testing.TB, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	hold(t, l)
}
