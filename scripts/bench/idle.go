package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// idle measures the daemon and its watcher with 100 projects on local remotes, after the
// first pass, against Python's floor and adnanh/webhook measured in the same window.
func (b *bench) idle() {
	bare, commit := b.repo("idle")
	workdir := filepath.Join(b.tmp, "idle-work")
	cfg := b.projects("idle", links(filepath.Join(b.tmp, "idle-remotes"), bare, 100), commit, workdir, "")
	daemon := b.background(nil, filepath.Join(b.bin, "pipelined"), "--config", cfg, "--workdir", workdir, "--interval", "60")
	python := b.background(nil, "python3", "-c", pythonFloor)
	var webhook *exec.Cmd
	if _, err := exec.LookPath("webhook"); err == nil {
		hooks := filepath.Join(b.tmp, "hooks.json")
		os.WriteFile(hooks, []byte(`[{"id": "x", "execute-command": "/bin/true"}]`), 0o644)
		webhook = b.background(nil, "webhook", "-hooks", hooks, "-ip", "127.0.0.1", "-port", strconv.Itoa(freePort()))
	}

	// The first pass (100 remotes) is over within seconds; the window that follows holds no
	// poll work until the next pass at 60 s.
	time.Sleep(5 * time.Second)
	pids := append([]int{daemon.Process.Pid}, childrenOf(daemon.Process.Pid)...)
	if len(pids) != 2 {
		fail(fmt.Errorf("expected pipelined and pipeline-watch, found processes %v", pids))
	}
	sum := func() activity {
		var a activity
		for _, p := range pids {
			x := activityOf(p)
			a.cpuNs += x.cpuNs
			a.switches += x.switches
		}
		return a
	}
	const window = 50 * time.Second
	ours0, py0 := sum(), activityOf(python.Process.Pid)
	time.Sleep(30 * time.Second)
	var mem memory
	for _, p := range pids {
		mem = mem.plus(memoryOf(p))
	}
	pyMem := memoryOf(python.Process.Pid)
	time.Sleep(window - 30*time.Second)
	ours1, py1 := sum(), activityOf(python.Process.Pid)

	perSecond := (ours1.switches - ours0.switches) / window.Seconds()
	cpuPerMinute := (ours1.cpuNs - ours0.cpuNs) / 1e6 / window.Minutes()
	b.add("idle RSS, pipelined + pipeline-watch, 100 projects", mem.rss, "MiB", 12, true, "")
	b.add("idle RssAnon, pipelined + pipeline-watch", mem.anon, "MiB", 4, true, "")
	b.report("idle PSS, pipelined + pipeline-watch", mem.pss, "MiB", "")
	b.add("idle wake-ups (context switches)", perSecond, "/s", 1, true, "")
	b.add("idle CPU outside poll work", cpuPerMinute, "ms/min", 5, true, "")
	b.add("idle RSS relative to the Python floor", mem.rss/pyMem.rss, "×", 0.5, true, "")
	b.report("anchor: Python 3 asyncio floor, idle RSS", pyMem.rss, "MiB", fmt.Sprintf("%.1f wake-ups/s", (py1.switches-py0.switches)/window.Seconds()))
	if webhook != nil {
		b.report("anchor: adnanh/webhook idle RSS", memoryOf(webhook.Process.Pid).rss, "MiB", "")
	}
}
