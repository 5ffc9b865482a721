package buildlog

import (
	"os"
	"strconv"
	"strings"
	"sync"
)

// umask returns the process umask. os.CreateTemp makes files 0600 whatever the umask; the
// status file is made readable as the operator's umask allows (SPEC §5), like build.log.
// It is read from /proc rather than with umask(2), which would change it for a moment
// under every other goroutine.
var umask = sync.OnceValue(func() os.FileMode {
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
