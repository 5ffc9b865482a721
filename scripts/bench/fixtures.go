package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sh runs a command and fails the benchmark if it fails.
func sh(dir string, name string, args ...string) string {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com",
		"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		fail(fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out))
	}
	return strings.TrimSpace(string(out))
}

// usage is what a finished command cost: wall time, and CPU including every descendant
// it waited for (wait4's rusage).
type usage struct {
	wall, cpu time.Duration
	err       error
}

func measure(env []string, name string, args ...string) usage {
	return measureIn(append(os.Environ(), env...), name, args...)
}

// measureIn is measure with exactly the environment env.
func measureIn(env []string, name string, args ...string) usage {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	u := usage{wall: time.Since(start)}
	if cmd.ProcessState != nil {
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		u.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if err != nil {
		u.err = fmt.Errorf("%s: %v: %s", name, err, lastLines(out.String()))
	}
	return u
}

func lastLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, "\n")
}

// repo makes a bare repository with one commit on main and returns its path and commit.
func (b *bench) repo(name string) (string, string) {
	work := filepath.Join(b.tmp, name+".work")
	bare := filepath.Join(b.tmp, name+".git")
	sh("", "git", "init", "-q", "-b", "main", work)
	os.WriteFile(filepath.Join(work, "README"), []byte("bench\n"), 0o644)
	sh(work, "git", "add", "-A")
	sh(work, "git", "commit", "-q", "-m", "bench")
	sh("", "git", "clone", "-q", "--bare", work, bare)
	return bare, sh(work, "git", "rev-parse", "HEAD")
}

// links makes n distinct paths to one repository under dir: n remotes for the price of one.
func links(dir, target string, n int) []string {
	os.MkdirAll(dir, 0o755)
	var paths []string
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, fmt.Sprintf("r%04d.git", i))
		os.Symlink(target, p)
		paths = append(paths, p)
	}
	return paths
}

// projects writes a configuration with one project per remote and pre-creates each
// project's build directory of main at commit, so that the watcher finds nothing new: a
// pass is then pure polling.
func (b *bench) projects(name string, remotes []string, commit, workdir, extra string) string {
	var cfg strings.Builder
	os.MkdirAll(filepath.Join(workdir, ".pipelined"), 0o755) // a work directory, as the daemon makes it
	for i, r := range remotes {
		fmt.Fprintf(&cfg, "[p%04d]\nremote = %s\nbranches = main\n%s\n", i, r, extra)
		os.MkdirAll(filepath.Join(workdir, fmt.Sprintf("p%04d", i), "refs%2Fheads%2Fmain", commit[:8]), 0o755)
	}
	path := filepath.Join(b.tmp, name+".ini")
	os.WriteFile(path, []byte(cfg.String()), 0o644)
	return path
}

// background starts a long-running helper that is killed when the benchmark ends.
func (b *bench) background(env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	b.cleanup = append(b.cleanup, func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	return cmd
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitPort(port int) {
	for i := 0; i < 500; i++ {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	fail(fmt.Errorf("nothing listens on port %d", port))
}

// gitDaemon serves base on a port of its own and returns the URL prefix.
func (b *bench) gitDaemon(base string) string {
	port := freePort()
	b.background(nil, "git", "daemon", "--export-all", "--reuseaddr", "--base-path="+base, "--listen=127.0.0.1",
		"--port="+strconv.Itoa(port), "--max-connections=64", base)
	waitPort(port)
	return fmt.Sprintf("git://127.0.0.1:%d/", port)
}

// sshd runs an sshd on 127.0.0.1 with keys of its own, and returns an ssh client
// configuration (for ssh -F) that reaches it as host "bench".
func (b *bench) sshd() string {
	dir := filepath.Join(b.tmp, "sshd")
	home := filepath.Join(b.tmp, "home")
	os.MkdirAll(dir, 0o700)
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	sh("", "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "host_key"))
	sh("", "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(home, ".ssh", "id_ed25519"))
	pub, _ := os.ReadFile(filepath.Join(home, ".ssh", "id_ed25519.pub"))
	os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600)
	port := freePort()
	os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(fmt.Sprintf(`ListenAddress 127.0.0.1
Port %d
HostKey %s/host_key
AuthorizedKeysFile %s/authorized_keys
PidFile %s/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
PermitRootLogin prohibit-password
MaxStartups 64
MaxSessions 64
`, port, dir, dir, dir)), 0o600)
	os.MkdirAll("/run/sshd", 0o755)
	b.background(nil, "/usr/sbin/sshd", "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	waitPort(port)
	user := os.Getenv("USER")
	if user == "" {
		user = "root"
	}
	os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte(fmt.Sprintf(`Host bench
  HostName 127.0.0.1
  Port %d
  User %s
  IdentityFile %s/.ssh/id_ed25519
  UserKnownHostsFile %s/.ssh/known_hosts
  StrictHostKeyChecking accept-new
`, port, user, home, home)), 0o600)
	return filepath.Join(home, ".ssh", "config")
}
