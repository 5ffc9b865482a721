package build

import (
	"strings"
	"testing"
)

// TestDiskFullReason: next to no room left is a full disk for any step; the words of a
// full disk count only in a git step's output, which is read only then.
func TestDiskFullReason(t *testing.T) {
	read := false
	out := func(s string) func() string { return func() string { read = true; return s } }
	for _, tc := range []struct {
		name  string
		step  string
		free  uint64
		known bool
		out   string
		want  string
	}{
		{"no room", StepDockerRun, 512 << 10, true, "", "the disk of the work directory is full (512 KiB free)"},
		{"room", StepClone, 1 << 30, true, "fatal: early EOF", ""},
		{"room unknown, git said so", StepClone, 0, false, "No space left on device", "the disk of the work directory is full (No space left on device)"},
		{"quota", StepCheckout, 1 << 30, true, "Disk quota exceeded", "the disk of the work directory is full (Disk quota exceeded)"},
		{"not a git step", StepRsync, 1 << 30, true, "No space left on device", ""},
		{"exactly the minimum", StepRsync, minFreeBytes, true, "", ""},
	} {
		if got := diskFullReason(tc.step, tc.free, tc.known, out(tc.out)); got != tc.want {
			t.Errorf("%s: diskFullReason = %q, want %q", tc.name, got, tc.want)
		}
	}
	read = false
	diskFullReason(StepDockerBuild, 1<<30, true, out("No space left on device"))
	if read {
		t.Errorf("the output of a step that is not git's was read")
	}
}

// TestClipLineKeepsTheFirstLineBounded: an engine's message in a reason is its first line,
// at most 200 bytes.
func TestClipLineKeepsTheFirstLineBounded(t *testing.T) {
	long := strings.Repeat("x", 300)
	for in, want := range map[string]string{
		"":                             "",
		"Cannot connect to the daemon": "Cannot connect to the daemon",
		"first\nsecond":                "first",
		long:                           long[:200] + "…",
		long + "\nsecond":              long[:200] + "…",
		"short\n" + long:               "short",
	} {
		if got := clipLine(in); got != want {
			t.Errorf("clipLine(%.20q…) = %.20q…, want %.20q…", in, got, want)
		}
	}
}
