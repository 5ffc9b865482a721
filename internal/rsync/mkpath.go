package rsync

import (
	"regexp"
	"strconv"
	"strings"
)

// Remote reports whether rsync takes dest for a remote destination: rsync://…, or a
// HOST:PATH (or HOST::MODULE) whose colon comes before any slash — rsync's own rule, by
// which ./a:b and /srv/a:b are local paths.
func Remote(dest string) bool {
	if strings.HasPrefix(dest, "rsync://") {
		return true
	}
	colon := strings.IndexByte(dest, ':')
	slash := strings.IndexByte(dest, '/')
	return colon > 0 && (slash < 0 || colon < slash)
}

// VersionArgs asks rsync for its version.
func VersionArgs() []string { return []string{"rsync", "--version"} }

var versionLine = regexp.MustCompile(`rsync\s+version\s+v?(\d+)\.(\d+)\.(\d+)`)

// HasMkPath reports whether the output of `rsync --version` is that of an rsync with
// --mkpath, which came with 3.2.3 (Debian 12 has 3.2.7; Debian 11 3.2.3).
func HasMkPath(versionOutput string) bool {
	m := versionLine.FindStringSubmatch(versionOutput)
	if m == nil {
		return false
	}
	var v [3]int
	for i := range v {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	return v[0] > 3 || v[0] == 3 && (v[1] > 2 || v[1] == 2 && v[2] >= 3)
}

// RefusedMkPath reports whether rsync's output says the remote rsync does not know
// --mkpath ("rsync: --mkpath: unknown option" from an rsync older than 3.2.3 over ssh;
// "rsync: on remote machine: --mkpath: unknown option" from such an rsync daemon).
func RefusedMkPath(lines []string) bool {
	for _, l := range lines {
		if strings.Contains(l, "--mkpath: unknown option") {
			return true
		}
	}
	return false
}

var mkdirFailed = regexp.MustCompile(`mkdir "(.+?)"(?: \(in ([^)]+)\))? failed: No such file or directory`)

// MissingDir returns the directory rsync's output says it could not make because its
// parent does not exist (`rsync: [Receiver] mkdir "/srv/www/app/feature/x" failed: No such
// file or directory (2)`; an rsync daemon adds "(in MODULE)"), or "".
func MissingDir(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if m := mkdirFailed.FindStringSubmatch(lines[i]); m != nil && m[2] != "" {
			return m[1] + " (in the module " + m[2] + ")"
		} else if m != nil {
			return m[1]
		}
	}
	return ""
}
