package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/testenv"
)

// fanOutBomb is a [web] project whose key a0 refers eight times to a1, which refers eight
// times to a2, and so on nine levels down to leaf: 8^9 leaves when each reference is
// expanded anew. 544 bytes.
func fanOutBomb(remote, leaf string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[web]\nremote = %s\nbranches = main\n", remote)
	for i := 0; i < 9; i++ {
		fmt.Fprintf(&b, "a%d = %s\n", i, strings.Repeat(fmt.Sprintf("%%(a%d)s", i+1), 8))
	}
	fmt.Fprintf(&b, "a9 = %s\n", leaf)
	return b.String()
}

// TestConfigBombsThroughTheBinaries: the real pipelined loads a fan-out bomb (or refuses
// one whose leaves grow it beyond the cap) in well under a second, refuses a
// secret put on a command line by interpolation naming the key and the variable, and a
// bomb sent by SIGHUP delays nothing.
func TestConfigBombsThroughTheBinaries(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	for _, c := range []struct {
		leaf, want string
		code       int
	}{
		{"", "[web]", 0},
		{"x", "grows beyond 1024 KiB", 2},
	} {
		s.writeConfig("%s", fanOutBomb(repo.Remote, c.leaf))
		// The time is the real binary's. Its peak memory cannot be read from here: a child's
		// ru_maxrss includes the test process's own, which it shared until exec. The
		// config package's TestBombs reads the peak inside a process that loads the same
		// files (50 MiB bound).
		cmd := exec.Command(bin.pipelined, "--config", s.config, "--dump-config")
		start := time.Now()
		out, _ := cmd.CombinedOutput()
		took := time.Since(start)
		if cmd.ProcessState.ExitCode() != c.code || !strings.Contains(string(out), c.want) {
			t.Errorf("leaf %q: exit %d, want %d and %q:\n%.500s", c.leaf, cmd.ProcessState.ExitCode(), c.code, c.want, out)
		}
		if took > 5*time.Second {
			t.Errorf("leaf %q: took %v; the bound is a second (five on a busy machine)", c.leaf, took)
		}
	}

	s.writeConfig("[p]\nremote = %s\nenv = TOKEN=s3cret\nlabel = x=%%(env)s\n", repo.Remote)
	res := run(t, nil, bin.pipelined, "--config", s.config, "--dump-config")
	if res.code != 2 || !strings.Contains(res.stderr, "label") || !strings.Contains(res.stderr, "TOKEN") || strings.Contains(res.stderr+res.stdout, "s3cret") {
		t.Errorf("a secret through interpolation: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}

	// An env_file that never ends, or never answers: refused at once, with its name.
	fifo := s.file("env.fifo", "", 0o644)
	os.Remove(fifo)
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, envFile := range []string{"/dev/zero", fifo} {
		s.writeConfig("[p]\nremote = %s\nenv_file = %s\n", repo.Remote, envFile)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, bin.build, "--config", s.config, "--workdir", s.workdir, "p", "main")
		start := time.Now()
		out, _ := cmd.CombinedOutput()
		cancel()
		// An env_file that never ends is refused as it passes its 1 MiB bound (SPEC §9), in
		// well under a second; five are for two busy cores, far below the minute a read
		// without a bound would be stopped at.
		if took := time.Since(start); took > 5*time.Second || cmd.ProcessState.ExitCode() == 0 || !strings.Contains(string(out), envFile) {
			t.Errorf("env_file = %s: exit %d after %v:\n%.500s", envFile, cmd.ProcessState.ExitCode(), took, out)
		}
	}

	// A bomb by SIGHUP: refused, the running configuration goes on, and a job queued just
	// after it runs.
	s.writeConfig("[p]\nremote = %s\nbranches = main\n", repo.Remote)
	p := s.daemon("--interval", "0")
	os.WriteFile(s.config, []byte(fanOutBomb(repo.Remote, "x")), 0o644)
	p.signal(syscall.SIGHUP)
	s.dropJob("after-the-bomb.job", fmt.Sprintf(`{"project":"p","ref":"refs/heads/main","commit":%q,"rebuild":true}`, repo.Head()))
	waitFor(t, p, time.Minute, "the job after the bomb did not run", func() bool { return s.hasBuild("p", "refs/heads/main", repo.Head()) })
	waitFor(t, p, time.Minute, "the bomb was not refused", func() bool { return strings.Contains(p.stderr(), "configuration not reloaded") })
	p.signal(syscall.SIGINT)
	p.wait(t, time.Minute)
}
