package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Engine is a second Docker engine a test starts: its own dockerd, data root, exec root
// and socket, in network and mount namespaces of its own (a second dockerd in the host's
// network namespace deletes the host engine's docker0 bridge), with a directory of the
// test hidden under a tmpfs, so that a bind mount of anything in it sees an empty
// directory.
type Engine struct {
	t      testing.TB
	dir    string
	hide   string
	Host   string // unix://…/docker.sock
	cmd    *exec.Cmd
	driver string
}

// StartEngine starts a second engine that cannot see the directory hide, loads the base
// image into it, and stops it when the test ends.
func StartEngine(t testing.TB, hide string) *Engine {
	t.Helper()
	Require(t, "dockerd", "unshare", "ip", "docker")
	RequireBaseImage(t)
	if os.Geteuid() != 0 {
		if InCI() {
			t.Fatal("a second Docker engine needs root")
		}
		t.Skip("a second Docker engine needs root")
	}
	// Short paths: containerd's sockets live in the exec root, and a socket path has at
	// most 107 bytes.
	dir, err := os.MkdirTemp("/tmp", "pde")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("docker", "info", "--format", "{{.Driver}}").Output()
	if err != nil {
		t.Fatalf("docker info: %v", err)
	}
	e := &Engine{t: t, dir: dir, hide: hide, Host: "unix://" + filepath.Join(dir, "docker.sock"), driver: strings.TrimSpace(string(out))}
	os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o644) // not the host's /etc/docker/daemon.json
	t.Cleanup(func() {
		e.Stop()
		os.RemoveAll(dir)
	})
	e.Start()
	// The engine starts empty, and there is no registry: it gets the base image from the
	// host's engine.
	save := exec.Command("docker", "save", BaseImage)
	load := exec.Command("docker", "load")
	load.Env = append(os.Environ(), "DOCKER_HOST="+e.Host)
	pipe, _ := save.StdoutPipe()
	load.Stdin = pipe
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	if err := save.Run(); err != nil {
		t.Fatalf("docker save: %v", err)
	}
	if err := load.Wait(); err != nil {
		t.Fatalf("docker load into the second engine: %v", err)
	}
	return e
}

// Start starts (or starts again) the engine's dockerd and waits until it answers.
func (e *Engine) Start() {
	e.t.Helper()
	script := fmt.Sprintf("ip link set lo up && mount -t tmpfs tmpfs %s && exec dockerd --config-file %s "+
		"--data-root %s --exec-root %s --pidfile %s -H %s --bridge none --iptables=false --ip6tables=false --storage-driver %s",
		shellQuote(e.hide), shellQuote(filepath.Join(e.dir, "daemon.json")), shellQuote(filepath.Join(e.dir, "data")),
		shellQuote(filepath.Join(e.dir, "exec")), shellQuote(filepath.Join(e.dir, "docker.pid")), shellQuote(e.Host), e.driver)
	e.cmd = exec.Command("unshare", "--mount", "--net", "--fork", "sh", "-c", script)
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	log, _ := os.Create(filepath.Join(e.dir, "dockerd.log"))
	e.cmd.Stdout, e.cmd.Stderr = log, log
	if err := e.cmd.Start(); err != nil {
		e.t.Fatalf("starting the second dockerd: %v", err)
	}
	Eventually(e.t, time.Minute, "the second Docker engine did not answer", func() bool {
		return e.Docker("version") == nil
	})
}

// Stop stops the engine's dockerd (SIGTERM, then SIGKILL to all of it).
func (e *Engine) Stop() {
	if e.cmd == nil || e.cmd.Process == nil {
		return
	}
	e.Resume() // a paused engine cannot stop
	syscall.Kill(-e.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { e.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	}
	syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	// containerd and its shims may have left the group: whatever names the exec root goes.
	if len(ProcessesMentioning(filepath.Join(e.dir, "exec"))) > 0 {
		exec.Command("pkill", "-KILL", "-f", filepath.Join(e.dir, "exec")).Run()
	}
	e.cmd = nil
}

// Docker runs a docker command on the engine.
func (e *Engine) Docker(args ...string) error {
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+e.Host)
	return cmd.Run()
}

// Output runs a docker command on the engine and returns its output.
func (e *Engine) Output(args ...string) string {
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+e.Host)
	out, _ := cmd.Output()
	return strings.TrimSpace(string(out))
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// SSHD starts an sshd on 127.0.0.1 that lets root in with a key the test makes, and sets
// DOCKER_HOST for its sessions to dockerHost, so that ssh://root@127.0.0.1:PORT reaches
// that engine. It returns the port and the environment that makes ssh use the test's key
// and trust the server: ssh reads the passwd entry's ~/.ssh/config, not $HOME's, so a
// wrapper first on PATH gives it -F (an operator sets up the daemon user's ~/.ssh instead).
func SSHD(t testing.TB, dockerHost string) (port int, env []string) {
	t.Helper()
	Require(t, "ssh", "ssh-keygen")
	sshd := "/usr/sbin/sshd"
	if _, err := os.Stat(sshd); err != nil {
		Require(t, "sshd")
	}
	dir := t.TempDir()
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	for _, key := range []string{filepath.Join(dir, "host_key"), filepath.Join(home, ".ssh", "id_ed25519")} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
	}
	pub, _ := os.ReadFile(filepath.Join(home, ".ssh", "id_ed25519.pub"))
	os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600)
	port = freePort(t)
	config := fmt.Sprintf("ListenAddress 127.0.0.1\nPort %d\nHostKey %s/host_key\nAuthorizedKeysFile %s/authorized_keys\n"+
		"PidFile %s/sshd.pid\nStrictModes no\nUsePAM no\nPasswordAuthentication no\nPermitRootLogin prohibit-password\n"+
		"MaxStartups 64\nMaxSessions 64\nSetEnv DOCKER_HOST=%s\n", port, dir, dir, dir, dockerHost)
	os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(config), 0o600)
	os.MkdirAll("/run/sshd", 0o755)
	cmd := exec.Command(sshd, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("sshd: %v", err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	Eventually(t, 30*time.Second, "sshd did not listen", func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	sshConfig := filepath.Join(home, ".ssh", "config")
	os.WriteFile(sshConfig, []byte(fmt.Sprintf("Host 127.0.0.1\n  User root\n  IdentityFile %s/.ssh/id_ed25519\n"+
		"  UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n  LogLevel ERROR\n", home)), 0o600)
	real, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(home, "bin")
	os.MkdirAll(bin, 0o755)
	os.WriteFile(filepath.Join(bin, "ssh"), []byte("#!/bin/sh\nexec "+shellQuote(real)+" -F "+shellQuote(sshConfig)+" \"$@\"\n"), 0o755)
	return port, []string{"PATH=" + bin + ":" + os.Getenv("PATH")}
}

// Pause freezes the engine (SIGSTOP to all of it): it accepts connections and never
// answers, as an engine on a host gone from the network. Resume undoes it.
func (e *Engine) Pause() { e.signalAll(syscall.SIGSTOP) }

// Resume lets a paused engine go on.
func (e *Engine) Resume() { e.signalAll(syscall.SIGCONT) }

func (e *Engine) signalAll(sig syscall.Signal) {
	if e.cmd != nil && e.cmd.Process != nil {
		syscall.Kill(-e.cmd.Process.Pid, sig)
	}
	sigName := map[syscall.Signal]string{syscall.SIGSTOP: "-STOP", syscall.SIGCONT: "-CONT"}[sig]
	exec.Command("pkill", sigName, "-f", filepath.Join(e.dir, "exec")).Run()
}
