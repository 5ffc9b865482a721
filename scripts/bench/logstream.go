package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// line is the 100-byte line the streaming step prints (99 characters and a newline).
const line = "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopq"

func streamCommand(bytes int64) string {
	return fmt.Sprintf("yes %s | head -c %d", line, bytes)
}

// logStreaming runs a step that prints 10 MiB, then 1 GiB, into build.log: the peak memory
// of pipeline-build and of the daemon, and the CPU added over the same command writing to
// /dev/null.
func (b *bench) logStreaming() {
	bare, _ := b.repo("stream")
	const small, big = 10 << 20, 1 << 30
	workdir := filepath.Join(b.tmp, "stream-work")
	cfg := filepath.Join(b.tmp, "stream.ini")
	os.WriteFile(cfg, []byte(fmt.Sprintf("[small]\nremote = %s\nprepare_callback = /bin/sh -c '%s'\n\n[big]\nremote = %s\nprepare_callback = /bin/sh -c '%s'\n",
		bare, streamCommand(small), bare, streamCommand(big))), 0o644)
	defer os.RemoveAll(workdir)

	peakSmall, _, _ := b.streamBuild(cfg, workdir, "small")
	peakBig, cpuBig, ownBig := b.streamBuild(cfg, workdir, "big")
	bareRun := must(measure(nil, "sh", "-c", streamCommand(big)+" > /dev/null"))
	// The same command writing into a file of the same file system: what the kernel charges
	// for keeping a gigabyte of log, whoever writes it.
	toFile := must(measure(nil, "sh", "-c", streamCommand(big)+" > "+filepath.Join(b.tmp, "stream-bare.log")))
	os.Remove(filepath.Join(b.tmp, "stream-bare.log"))
	os.RemoveAll(workdir)

	// The same build through the daemon: its own peak while a build streams.
	daemon := b.background(nil, filepath.Join(b.bin, "pipelined"), "--config", cfg, "--workdir", workdir, "--interval", "0")
	waitFor(func() bool {
		_, err := os.Stat(filepath.Join(workdir, ".pipelined", "spool", "new"))
		return err == nil
	}, time.Minute)
	must(measure(nil, filepath.Join(b.bin, "pipelined"), "enqueue", "--config", cfg, "--workdir", workdir, "big", "main"))
	waitFor(func() bool {
		logs, _ := filepath.Glob(filepath.Join(workdir, "big", "*", "*", "build.log"))
		if len(logs) == 0 {
			return false
		}
		data, _ := os.ReadFile(filepath.Join(filepath.Dir(logs[0]), "build.json"))
		return strings.Contains(string(data), `"result": "success"`)
	}, 5*time.Minute)
	daemonPeak := memoryOf(daemon.Process.Pid).hwm

	b.add("peak RSS of pipeline-build, step printing 1 GiB", peakBig, "MiB", 10, true, "")
	b.add("growth of that peak from 10 MiB to 1 GiB of output", peakBig-peakSmall, "MiB", 1, true, "flat")
	b.add("peak RSS of pipelined while a build prints 1 GiB", daemonPeak, "MiB", 10, true, "")
	b.add("CPU added per GiB of output over the bare command", (cpuBig - bareRun.cpu).Seconds(), "CPU-s", 1, true,
		fmt.Sprintf("bare to /dev/null: %.2f CPU-s", bareRun.cpu.Seconds()))
	b.report("anchor: CPU added per GiB by writing it to a file instead", (toFile.cpu - bareRun.cpu).Seconds(), "CPU-s", "bare command, no pipelined")
	b.report("CPU of pipeline-build itself while its step prints 1 GiB", ownBig.Seconds()*1000, "ms", "the step writes straight into build.log")
}

// streamBuild runs a build by hand, sampling its peak RSS until it exits; it returns the
// peak (MiB), the CPU of the build and everything it ran, and the CPU of pipeline-build's
// own threads.
func (b *bench) streamBuild(cfg, workdir, project string) (float64, time.Duration, time.Duration) {
	cmd := exec.Command(filepath.Join(b.bin, "pipeline-build"), "--config", cfg, "--workdir", workdir, project, "main")
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var peak, own float64
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				fail(fmt.Errorf("the %s streaming build: %v", project, err))
			}
			running = false
		case <-time.After(20 * time.Millisecond):
			peak = max(peak, memoryOf(cmd.Process.Pid).hwm)
			own = max(own, activityOf(cmd.Process.Pid).cpuNs)
		}
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return peak, time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), time.Duration(own)
}
