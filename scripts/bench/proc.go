package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// memory is a process's memory from /proc, in MiB.
type memory struct{ rss, anon, pss, hwm float64 }

func (m memory) plus(o memory) memory {
	return memory{m.rss + o.rss, m.anon + o.anon, m.pss + o.pss, m.hwm + o.hwm}
}

func memoryOf(pid int) memory {
	var m memory
	status, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	m.rss = kibField(status, "VmRSS:")
	m.anon = kibField(status, "RssAnon:")
	m.hwm = kibField(status, "VmHWM:")
	rollup, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	m.pss = kibField(rollup, "Pss:")
	return m
}

// kibField reads "NAME:   1234 kB" and returns MiB.
func kibField(data []byte, name string) float64 {
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				v, _ := strconv.ParseFloat(f[0], 64)
				return v / 1024
			}
		}
	}
	return 0
}

// activity is what a process did, summed over its threads: CPU time (ns, from schedstat,
// finer than the 10 ms ticks of /proc/PID/stat) and context switches (the wake-ups).
type activity struct {
	cpuNs    float64
	switches float64
}

func activityOf(pid int) activity {
	var a activity
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*")
	for _, t := range tasks {
		sched, _ := os.ReadFile(t + "/schedstat")
		if f := strings.Fields(string(sched)); len(f) > 0 {
			v, _ := strconv.ParseFloat(f[0], 64)
			a.cpuNs += v
		}
		status, _ := os.ReadFile(t + "/status")
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "voluntary_ctxt_switches:") || strings.HasPrefix(line, "nonvoluntary_ctxt_switches:") {
				v, _ := strconv.ParseFloat(strings.TrimSpace(line[strings.IndexByte(line, ':')+1:]), 64)
				a.switches += v
			}
		}
	}
	return a
}

// childrenOf lists a process's direct children.
func childrenOf(pid int) []int {
	var kids []int
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	for _, t := range tasks {
		data, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(f); err == nil {
				kids = append(kids, n)
			}
		}
	}
	return kids
}

// countProcesses counts the processes whose command line contains all of words.
func countProcesses(words ...string) int {
	n := 0
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil || len(data) == 0 {
			continue
		}
		all := true
		for _, w := range words {
			all = all && strings.Contains(string(data), w)
		}
		if all {
			n++
		}
	}
	return n
}

// killMentioning kills every process whose command line contains s.
func killMentioning(s string) {
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(data), s) {
			if pid, err := strconv.Atoi(strings.Split(p, "/")[2]); err == nil && pid != os.Getpid() {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}
