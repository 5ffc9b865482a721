package testenv

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// NoProcessMentions fails the test if any process on the machine has s in its command
// line: after a build, nothing it started may still run.
func NoProcessMentions(t testing.TB, s string) {
	t.Helper()
	if left := ProcessesMentioning(s); len(left) > 0 {
		t.Errorf("processes left behind: %q", left)
	}
}

// ProcessesMentioning lists the command lines that contain s.
func ProcessesMentioning(s string) []string {
	var found []string
	self := "/proc/" + strings.TrimSpace(itoa(os.Getpid())) + "/"
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		if strings.HasPrefix(p, self) {
			continue
		}
		data, err := os.ReadFile(p)
		if err == nil && bytes.Contains(data, []byte(s)) {
			found = append(found, string(bytes.ReplaceAll(data, []byte{0}, []byte{' '})))
		}
	}
	return found
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for n > 0 || i == len(b) {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// RunMarker names the variable a test binary puts in its own environment, with a value of
// its own, so that every process its tests start (and what those start) carries it: the
// leak check finds this run's processes, not those of a test run beside it.
const RunMarker = "PIPELINED_TEST_RUN"

// MarkRun sets RunMarker to a value unique to this process and returns it.
func MarkRun() string {
	v := itoa(os.Getpid()) + "-" + itoa(int(time.Now().UnixNano()%1e9))
	os.Setenv(RunMarker, v)
	return v
}

// ProcessesOfRun lists the command lines of the processes (but this one) whose environment
// holds RunMarker=run.
func ProcessesOfRun(run string) []string {
	want := []byte(RunMarker + "=" + run + "\x00")
	var found []string
	paths, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, p := range paths {
		pid := strings.TrimSuffix(strings.TrimPrefix(p, "/proc/"), "/environ")
		if pid == itoa(os.Getpid()) {
			continue
		}
		env, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(append(env, 0), want) {
			continue
		}
		if cmd, err := os.ReadFile("/proc/" + pid + "/cmdline"); err == nil && len(cmd) > 0 {
			found = append(found, string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
		}
	}
	return found
}
