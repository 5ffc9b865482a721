package procexec

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Group names a process group so that another process, later, can kill what is left of it
// without hitting a stranger: the group's id (its leader's pid) and the leader's start time
// (field 22 of /proc/PID/stat, in clock ticks since boot). A pid is reused only after its
// process is gone; the start time tells the two apart.
type Group struct {
	PGID  int    `json:"pgid"`
	Start uint64 `json:"start"`
}

// GroupOf returns the group led by pid, which must be alive.
func GroupOf(pid int) (Group, error) {
	start, err := StartTime(pid)
	if err != nil {
		return Group{}, err
	}
	return Group{PGID: pid, Start: start}, nil
}

// StartTime returns when the process pid started, in clock ticks since boot.
func StartTime(pid int) (uint64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may contain anything: the fields
	// that follow start after the last ")".
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	// fields[0] is field 3 (state); starttime is field 22.
	if len(fields) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// Alive reports whether the process pid that started at start still runs (a zombie counts
// as gone).
func Alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	got, err := StartTime(pid)
	if err != nil || got != start {
		return false
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(data, ')')
	return i >= 0 && i+2 < len(data) && data[i+2] != 'Z'
}

// Kill sends sig to what is left of the group. The leader may be gone while members
// remain (then the id cannot have been reused: Linux keeps a pid that still names a
// group); if a process with the group's id runs with another start time, the group is
// another one and is left alone.
func (g Group) Kill(sig syscall.Signal) error {
	if g.PGID <= 1 {
		return nil
	}
	if start, err := StartTime(g.PGID); err == nil && start != g.Start {
		return nil
	}
	return KillGroup(g.PGID, sig)
}

// Signal sends sig to the process pid that started at start, and to no other: a pid that
// now belongs to another process is left alone. It reports whether the process was there.
func Signal(pid int, start uint64, sig syscall.Signal) bool {
	if !Alive(pid, start) {
		return false
	}
	return syscall.Kill(pid, sig) == nil
}

// KillByEnv sends SIGKILL to every process (but this one) whose environment holds
// name=value exactly, and returns how many it signalled. It finds what a command started
// and then hid from its process group (setsid, a double fork): every command of a build
// gets the build's BUILD_RUN_PATH, and children inherit it.
func KillByEnv(name, value string) int {
	want := []byte(name + "=" + value)
	self := os.Getpid()
	paths, _ := filepath.Glob("/proc/[0-9]*/environ")
	n := 0
	for _, p := range paths {
		pid, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(p, "/proc/"), "/environ"))
		if err != nil || pid == self {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			continue // gone, or another user's
		}
		for _, kv := range bytes.Split(data, []byte{0}) {
			if bytes.Equal(kv, want) {
				if syscall.Kill(pid, syscall.SIGKILL) == nil {
					n++
				}
				break
			}
		}
	}
	return n
}

// FindByArgs returns the live process (but this one) whose command line holds args one after
// the other, and its start time: it finds a process whose pid was recorded nowhere. ok is
// false if there is none.
func FindByArgs(args ...string) (pid int, start uint64, ok bool) {
	want := []byte(strings.Join(args, "\x00") + "\x00")
	self := os.Getpid()
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		pid, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(p, "/proc/"), "/cmdline"))
		if err != nil || pid == self {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil || !bytes.HasPrefix(data, want) && !bytes.Contains(data, append([]byte{0}, want...)) {
			continue
		}
		if start, err := StartTime(pid); err == nil && Alive(pid, start) {
			return pid, start, true
		}
	}
	return 0, 0, false
}

// BecomeSubreaper makes this process the one that inherits the orphans among its
// descendants (PR_SET_CHILD_SUBREAPER), instead of init: what a command detached with setsid
// or a double fork stays a child of this process, for KillOrphans to find.
func BecomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// KillOrphans kills (SIGKILL, with their process groups) the children of this process that
// still run once it has waited for every command it started: with BecomeSubreaper, the
// orphans its commands left. Their own children become orphans in turn, so it repeats until
// none is left, a few rounds at most. It returns how many it killed.
func KillOrphans() int {
	n := 0
	for round := 0; round < 10; round++ {
		children := liveChildren()
		if len(children) == 0 {
			break
		}
		for _, pid := range children {
			syscall.Kill(-pid, syscall.SIGKILL) // its group, if it leads one
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				n++
			}
		}
		time.Sleep(10 * time.Millisecond) // let the grandchildren be re-parented
	}
	return n
}

// liveChildren lists this process's children that are not zombies.
func liveChildren() []int {
	files, _ := filepath.Glob("/proc/self/task/*/children")
	var pids []int
	for _, f := range files {
		data, _ := os.ReadFile(f)
		for _, field := range strings.Fields(string(data)) {
			pid, err := strconv.Atoi(field)
			if err != nil {
				continue
			}
			if stat, err := os.ReadFile("/proc/" + field + "/stat"); err == nil {
				if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
					continue
				}
			}
			pids = append(pids, pid)
		}
	}
	return pids
}
