package cli

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
)

func journalFile(t *testing.T) *os.File {
	f, err := os.CreateTemp(t.TempDir(), "journal")
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	syscall.Fstat(int(f.Fd()), &st)
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
	return f
}

func TestLoggerUnderJournaldHasPrioritiesAndNoTime(t *testing.T) {
	f := journalFile(t)
	log := NewLogger(f)
	log.Info("dispatched build", "ref", "refs/heads/a\n<0>forged")
	log.Error("cannot list the remote", "remote", "x")
	data, _ := os.ReadFile(f.Name())
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one line per event, got %q", lines)
	}
	if !strings.HasPrefix(lines[0], "<6>") || !strings.HasPrefix(lines[1], "<3>") {
		t.Errorf("priority prefixes missing: %q", lines)
	}
	if strings.Contains(string(data), "time=") {
		t.Errorf("a time stamp under journald: %q", lines)
	}
	if !strings.Contains(lines[0], `ref="refs/heads/a\n<0>forged"`) {
		t.Errorf("an untrusted value was not quoted: %q", lines[0])
	}
}

func TestLoggerElsewhereHasTimeAndNoPrefix(t *testing.T) {
	journalFile(t) // the journal is another file
	f, _ := os.CreateTemp(t.TempDir(), "stderr")
	NewLogger(f).Info("started")
	data, _ := os.ReadFile(f.Name())
	if !strings.HasPrefix(string(data), "time=") {
		t.Errorf("log line %q", data)
	}
}
