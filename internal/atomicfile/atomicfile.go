// Package atomicfile writes a file whole or not at all: the content goes into a temporary
// file in the same directory, which is renamed over the target. A reader sees the old file
// or the new one, never half of either. It is the one way pipelined writes its records
// (build.json, the configuration snapshot, cancel records, reasons, pages).
package atomicfile

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Write replaces path with data. The file gets perm less the process's umask, as
// os.WriteFile would give a new file. The temporary file is a dot name beside the target,
// which every lister of pipelined skips, and it is removed when anything fails.
func Write(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, false)
}

// WriteSynced is Write with the data synced to disk before the rename, for records that
// must survive a crash the moment the call returns.
func WriteSynced(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, true)
}

func write(path string, data []byte, perm os.FileMode, sync bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	_, err = tmp.Write(data)
	if err == nil {
		// CreateTemp makes 0600 files: give the mode a plain create would.
		err = tmp.Chmod(perm &^ Umask())
	}
	if err == nil && sync {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Umask is the process's umask, read once from /proc rather than with umask(2), which
// would change it for a moment under every other goroutine. pipelined never changes it.
var Umask = sync.OnceValue(func() os.FileMode {
	data, err := os.ReadFile("/proc/self/status")
	if err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "Umask:"); ok {
				if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
					return os.FileMode(m)
				}
			}
		}
	}
	return 0o022
})
