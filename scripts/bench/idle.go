package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// pythonFloor is the original's runtime doing nothing: Python 3 with asyncio and the
// modules the original imports, in a 1 s sleep loop.
const pythonFloor = `
import asyncio, argparse, configparser, signal, subprocess, urllib.parse
async def main():
    while True:
        await asyncio.sleep(1)
asyncio.run(main())
`

// idle measures the resident daemon (since the watcher runs per pass, pipelined is the only
// resident process) with 1, 100, 1,000 and 10,000 projects, once its first pass is over,
// against Python's floor and adnanh/webhook measured in the same run. The 10,000 projects
// share 100 remotes, so that the first pass is over in seconds.
func (b *bench) idle() {
	bare, commit := b.repo("idle")
	remotes := links(filepath.Join(b.tmp, "idle-remotes"), bare, 100)
	python := b.background(nil, "python3", "-c", pythonFloor)
	var webhook *exec.Cmd
	if _, err := exec.LookPath("webhook"); err == nil {
		hooks := filepath.Join(b.tmp, "hooks.json")
		os.WriteFile(hooks, []byte(`[{"id": "x", "execute-command": "/bin/true"}]`), 0o644)
		webhook = b.background(nil, "webhook", "-hooks", hooks, "-ip", "127.0.0.1", "-port", strconv.Itoa(freePort()))
	}
	rss := map[int]float64{}
	for _, n := range []int{1, 100, 1000, 10000} {
		mem, wakeups, cpu := b.idleDaemon(n, remotes, commit)
		rss[n] = mem.rss
		switch n {
		case 100:
			b.add("idle RSS, 100 projects (pipelined, the only resident process)", mem.rss, "MiB", 8, true, "before: 14.8-15.2 with its watcher")
			b.report("idle PSS, 100 projects", mem.pss, "MiB", "")
			b.add("idle wake-ups between passes (context switches)", wakeups, "/s", 0.1, true, "the schedule's own: one pass an interval")
			b.add("idle CPU between passes", cpu, "ms/min", 5, true, "")
		case 10000:
			b.add("idle RSS, 10,000 projects", mem.rss, "MiB", 12, true, "")
		default:
			b.report(fmt.Sprintf("idle RSS, %d projects", n), mem.rss, "MiB", map[int]string{1: "before: 12.1 with its watcher", 1000: "before: 12.2, its watcher could not start"}[n])
		}
	}
	b.add("what the daemon keeps per project", (rss[10000]-rss[100])*1024/9900, "KiB", 2, true, "RSS of 10,000 projects less 100, per project")
	pyMem := memoryOf(python.Process.Pid)
	b.add("idle RSS relative to the Python floor, 100 projects", rss[100]/pyMem.rss, "×", 0.5, true, "")
	b.report("anchor: Python 3 asyncio floor, idle RSS", pyMem.rss, "MiB", "")
	if webhook != nil {
		b.report("anchor: adnanh/webhook idle RSS", memoryOf(webhook.Process.Pid).rss, "MiB", "")
	}
}

// idleDaemon runs pipelined with n projects on the remotes, waits for its first pass to end,
// and measures it over a window without a pass: memory, wake-ups per second, CPU per minute.
func (b *bench) idleDaemon(n int, remotes []string, commit string) (memory, float64, float64) {
	workdir := filepath.Join(b.tmp, fmt.Sprintf("idle-work-%d", n))
	rs := make([]string, n)
	for i := range rs {
		rs[i] = remotes[i%len(remotes)]
	}
	cfg := b.projects(fmt.Sprintf("idle-%d", n), rs, commit, workdir, "")
	daemon := b.background(nil, filepath.Join(b.bin, "pipelined"), "--config", cfg, "--workdir", workdir, "--interval", "600")
	defer func() { syscall.Kill(daemon.Process.Pid, syscall.SIGINT); daemon.Wait() }()
	// The first pass polls every remote at start; then nothing runs until the next interval.
	quiet := time.Now()
	for deadline := time.Now().Add(2 * time.Minute); time.Since(quiet) < 3*time.Second; {
		if len(childrenOf(daemon.Process.Pid)) > 0 {
			quiet = time.Now()
		}
		if time.Now().After(deadline) {
			fail(fmt.Errorf("pipelined with %d projects kept a child running for 2 minutes", n))
		}
		time.Sleep(100 * time.Millisecond)
	}
	const window = 20 * time.Second
	a0 := activityOf(daemon.Process.Pid)
	time.Sleep(window / 2)
	mem := memoryOf(daemon.Process.Pid)
	time.Sleep(window / 2)
	a1 := activityOf(daemon.Process.Pid)
	return mem, (a1.switches - a0.switches) / window.Seconds(), (a1.cpuNs - a0.cpuNs) / 1e6 / window.Minutes()
}
