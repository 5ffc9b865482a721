package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"pipelined/internal/testenv"
)

// TestInstallAndTheSystemdUnit runs make install into a temporary DESTDIR, checks what it
// installs, and has systemd-analyze verify the unit (its ExecStart pointed at the
// installed binary, which is not on this machine's /usr/local/bin).
func TestInstallAndTheSystemdUnit(t *testing.T) {
	testenv.Require(t, "make", "systemd-analyze")
	s := newSite(t)
	dest := filepath.Join(s.dir, "dest")
	cmd := exec.Command("make", "--no-print-directory", "install", "DESTDIR="+dest, "PREFIX=/usr/local")
	cmd.Dir = testenv.ModuleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	prefix := filepath.Join(dest, "usr", "local")
	for _, f := range []string{"bin/pipelined", "bin/pipeline-watch", "bin/pipeline-build", "bin/pipelined-webhook",
		"share/man/man1/pipelined.1", "share/man/man1/pipeline-watch.1", "share/man/man1/pipeline-build.1",
		"share/man/man1/pipelined-status.1", "share/man/man1/pipelined-enqueue.1", "share/man/man5/pipelined.ini.5",
		"lib/systemd/system/pipelined.service", "share/pipelined/webhook/hooks.json", "share/pipelined/pipelined.ini.example",
		"share/pipelined/notify/mail", "share/pipelined/notify/chat", "share/pipelined/notify/build-facts.awk"} {
		if _, err := os.Stat(filepath.Join(prefix, f)); err != nil {
			t.Errorf("make install did not install %s", f)
		}
	}
	if page := readFile(t, filepath.Join(prefix, "share/man/man1/pipelined.1")); !strings.HasPrefix(page, ".TH PIPELINED 1") ||
		!strings.Contains(page, "SIGTERM") || !strings.Contains(page, `\-\-limit NUM`) {
		t.Errorf("the pipelined man page lacks its header, signals or options:\n%s", page)
	}
	checkManPages(t, filepath.Join(prefix, "share/man"))
	// The example configuration is valid.
	if res := run(t, nil, filepath.Join(prefix, "bin/pipelined"), "--dump-config", "--workdir", s.workdir,
		"--config", filepath.Join(prefix, "share/pipelined/pipelined.ini.example")); res.code != 0 {
		t.Errorf("the example configuration does not load: %s", res.stderr)
	}
	unit := readFile(t, filepath.Join(prefix, "lib/systemd/system/pipelined.service"))
	for _, want := range []string{"Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "KillMode=mixed", "TimeoutStopSec=30",
		"ExecStart=/usr/local/bin/pipelined --limit 1 --interval 60 --workdir /var/pipelined --config /etc/pipelined.ini"} {
		if !strings.Contains(unit, want) {
			t.Errorf("the unit lacks %q", want)
		}
	}
	verify := filepath.Join(s.dir, "verify", "pipelined.service")
	os.MkdirAll(filepath.Dir(verify), 0o755)
	os.WriteFile(verify, []byte(strings.ReplaceAll(unit, "/usr/local/bin/", prefix+"/bin/")), 0o644)
	if res := run(t, nil, "systemd-analyze", "verify", "--man=no", verify); res.code != 0 || strings.TrimSpace(res.stderr) != "" {
		t.Errorf("systemd-analyze verify: exit %d\n%s", res.code, res.stderr)
	}
}

// checkManPages renders every installed page with man -l: no warnings, nothing wider than
// the terminal, the sections each page should have as real sections, and SEE ALSO without
// the page itself.
func checkManPages(t *testing.T, mandir string) {
	pages, _ := filepath.Glob(filepath.Join(mandir, "man*", "*"))
	if len(pages) < 9 { // the three binaries, pipelined's five subcommands, pipelined.ini(5)
		t.Errorf("%d man pages installed, want at least 9: %q", len(pages), pages)
	}
	want := map[string][]string{
		"pipelined.1":      {"SIGNALS", "EXIT STATUS", "ENVIRONMENT", "FILES"},
		"pipeline-watch.1": {"REPORT", "SIGNALS", "EXIT STATUS", "ENVIRONMENT", "FILES"},
		"pipeline-build.1": {"SIGNALS", "EXIT STATUS", "ENVIRONMENT", "FILES"},
		"pipelined.ini.5":  {"SYNTAX", "KEYS", "DIAGNOSTICS", "FILES"},
	}
	for _, page := range pages {
		name := filepath.Base(page)
		text := testenv.ManPage(t, page)
		sections := testenv.ManSections(text)
		for _, s := range append([]string{"NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"}, want[name]...) {
			if !slices.Contains(sections, s) {
				t.Errorf("%s: no %s section; it has %q", name, s, sections)
			}
		}
		// "pipelined.1" is listed as "pipelined(1)".
		self := strings.TrimSuffix(name, filepath.Ext(name)) + "(" + strings.TrimPrefix(filepath.Ext(name), ".") + ")"
		if _, see, _ := strings.Cut(text, "\nSEE ALSO\n"); strings.Contains(see, self) || !strings.Contains(see, "pipelined") {
			t.Errorf("%s: SEE ALSO lists %s, or nothing:\n%s", name, self, see)
		}
	}
}

// TestNotifySocket reads the daemon's sd_notify datagrams from a socket of the test's own.
func TestNotifySocket(t *testing.T) {
	s := newSite(t)
	repo := testenv.NewRepo(t, nil)
	s.writeConfig("[p]\nremote = %s\nbranches = main\n", repo.Remote)
	sock := filepath.Join(s.dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	messages := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				close(messages)
				return
			}
			messages <- string(buf[:n])
		}
	}()
	expect := func(what string, match func(string) bool) string {
		t.Helper()
		deadline := time.After(time.Minute)
		for {
			select {
			case m := <-messages:
				if match(m) {
					return m
				}
			case <-deadline:
				t.Fatalf("no %s datagram", what)
			}
		}
	}
	p := startProcessEnv(t, []string{"NOTIFY_SOCKET=" + sock}, bin.pipelined, "--config", s.config, "--workdir", s.workdir, "--interval", "3600")
	ready := expect("READY=1", func(m string) bool { return strings.Contains(m, "READY=1") })
	if !strings.Contains(ready, "STATUS=") {
		t.Errorf("READY without STATUS: %q", ready)
	}
	p.signal(syscall.SIGHUP)
	reloading := expect("RELOADING=1", func(m string) bool { return strings.Contains(m, "RELOADING=1") })
	if !strings.Contains(reloading, "MONOTONIC_USEC=") {
		t.Errorf("RELOADING=1 without MONOTONIC_USEC: %q", reloading)
	}
	expect("READY=1 after the reload", func(m string) bool { return strings.Contains(m, "READY=1") })
	p.signal(syscall.SIGTERM)
	expect("STOPPING=1", func(m string) bool { return strings.Contains(m, "STOPPING=1") })
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit %d", code)
	}
}
