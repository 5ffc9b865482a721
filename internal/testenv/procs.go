package testenv

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
