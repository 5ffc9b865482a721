package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// execLogger is a C program that appends "NAME NANOSECONDS ARGS…" to $BENCH_EXEC_LOG and
// execs the real program: it marks the moment a program is exec'd, costing microseconds.
const execLogger = `#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	const char *log = getenv("BENCH_EXEC_LOG");
	if (log) {
		char buf[4096];
		int n = snprintf(buf, sizeof buf, "%s %lld %s\n", NAME, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, argc > 1 ? argv[argc - 1] : "");
		int fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0644);
		if (fd >= 0) { write(fd, buf, n); close(fd); }
	}
	execv(REAL, argv);
	return 127;
}
`

// wrapper compiles execLogger for the program at real, into dir/name.
func (b *bench) wrapper(dir, name, real string) {
	src := filepath.Join(b.tmp, name+"-wrapper.c")
	os.WriteFile(src, []byte(execLogger), 0o644)
	os.MkdirAll(dir, 0o755)
	sh("", "gcc", "-O2", "-o", filepath.Join(dir, name), fmt.Sprintf(`-DNAME="%s"`, name), fmt.Sprintf(`-DREAL="%s"`, real), src)
}

// dispatch drops job files into a running daemon's spool, one at a time with a free slot,
// and times the rename to the exec of pipeline-build and to the exec of its first git.
func (b *bench) dispatch() {
	const drops = 200
	bare, commit := b.repo("dispatch")
	bin := filepath.Join(b.tmp, "dispatch-bin")
	gitBin := filepath.Join(b.tmp, "dispatch-git")
	os.MkdirAll(bin, 0o755)
	// Copies, not links: pipelined looks for pipeline-build next to its resolved executable.
	for _, name := range []string{"pipelined", "pipeline-watch"} {
		data, err := os.ReadFile(filepath.Join(b.bin, name))
		if err != nil {
			fail(err)
		}
		os.WriteFile(filepath.Join(bin, name), data, 0o755)
	}
	b.wrapper(bin, "pipeline-build", filepath.Join(b.bin, "pipeline-build"))
	realGit := sh("", "sh", "-c", "command -v git")
	b.wrapper(gitBin, "git", realGit)

	workdir := filepath.Join(b.tmp, "dispatch-work")
	cfg := filepath.Join(b.tmp, "dispatch.ini")
	os.WriteFile(cfg, []byte(fmt.Sprintf("[d]\nremote = %s\n", bare)), 0o644)
	logPath := filepath.Join(b.tmp, "exec.log")
	env := []string{"BENCH_EXEC_LOG=" + logPath, "PATH=" + gitBin + ":" + os.Getenv("PATH")}
	b.background(env, filepath.Join(bin, "pipelined"), "--config", cfg, "--workdir", workdir, "--interval", "0")
	spool := filepath.Join(workdir, ".pipelined", "spool")
	waitFor(func() bool { _, err := os.Stat(filepath.Join(spool, "new")); return err == nil }, time.Minute)
	time.Sleep(time.Second) // let the daemon reach its loop

	var toExec, toGit []float64
	for i := 0; i < drops; i++ {
		name := fmt.Sprintf("drop-%04d.job", i)
		job := fmt.Sprintf(`{"project":"d","ref":"refs/heads/main","commit":%q,"source":"bench"}`, commit)
		tmp := filepath.Join(spool, "tmp", name)
		os.WriteFile(tmp, []byte(job), 0o644)
		dropped := time.Now().UnixNano()
		if err := os.Rename(tmp, filepath.Join(spool, "new", name)); err != nil {
			fail(err)
		}
		// The build is over when its job file is gone from new/ and cur/.
		waitFor(func() bool {
			_, e1 := os.Stat(filepath.Join(spool, "new", name))
			_, e2 := os.Stat(filepath.Join(spool, "cur", name))
			return os.IsNotExist(e1) && os.IsNotExist(e2)
		}, time.Minute)
		execAt, gitAt := execTimes(logPath, name)
		if execAt == 0 || gitAt == 0 {
			fail(fmt.Errorf("drop %d: no exec recorded", i))
		}
		toExec = append(toExec, float64(execAt-dropped)/1e6)
		toGit = append(toGit, float64(gitAt-dropped)/1e6)
		os.Remove(logPath)
		os.RemoveAll(filepath.Join(workdir, "d"))
	}
	spawn, event := b.spawnAnchor(), eventAnchor(filepath.Join(b.tmp, "event-anchor"))
	b.report("anchor: Go starts a program (Start → its first instruction), p50", spawn, "ms", "")
	b.report("anchor: rename into a watched directory → fsnotify event, p50", event, "ms", "")
	b.add("dispatch: job file renamed → pipeline-build exec'd, p50", percentile(toExec, 50), "ms", 1, true,
		fmt.Sprintf("%.2f ms beyond starting a program", percentile(toExec, 50)-spawn))
	b.add("dispatch: job file renamed → pipeline-build exec'd, p99", percentile(toExec, 99), "ms", 5, true, "")
	b.add("dispatch: job file renamed → first git exec'd, p50", percentile(toGit, 50), "ms", 15, true, "")
}

// execTimes reads the exec log of one drop: when pipeline-build started for the job, and
// the first git after it.
func execTimes(path, job string) (execAt, gitAt int64) {
	data, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		t, _ := strconv.ParseInt(f[1], 10, 64)
		switch {
		case f[0] == "pipeline-build" && len(f) > 2 && strings.HasSuffix(f[2], job):
			execAt = t
		case f[0] == "git" && execAt != 0 && gitAt == 0:
			gitAt = t
		}
	}
	return execAt, gitAt
}

func percentile(values []float64, p float64) float64 {
	s := append([]float64(nil), values...)
	sort.Float64s(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

func waitFor(cond func() bool, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			fail(fmt.Errorf("timed out after %v", timeout))
		}
		time.Sleep(time.Millisecond)
	}
}

// spawnAnchor is what starting a program costs here: from exec.Cmd.Start to the first
// thing the program does (the exec logger records it), median of 100.
func (b *bench) spawnAnchor() float64 {
	dir := filepath.Join(b.tmp, "spawn")
	b.wrapper(dir, "true", "/bin/true")
	log := filepath.Join(dir, "log")
	var d []float64
	for i := 0; i < 100; i++ {
		os.Remove(log)
		cmd := exec.Command(filepath.Join(dir, "true"))
		cmd.Env = []string{"BENCH_EXEC_LOG=" + log}
		start := time.Now().UnixNano()
		if err := cmd.Run(); err != nil {
			fail(err)
		}
		data, _ := os.ReadFile(log)
		f := strings.Fields(string(data))
		if len(f) < 2 {
			fail(fmt.Errorf("the exec logger wrote %q", data))
		}
		at, _ := strconv.ParseInt(f[1], 10, 64)
		d = append(d, float64(at-start)/1e6)
	}
	return percentile(d, 50)
}

// eventAnchor is the latency from a rename into a watched directory to its fsnotify
// event, median of 200.
func eventAnchor(dir string) float64 {
	os.MkdirAll(filepath.Join(dir, "new"), 0o755)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		fail(err)
	}
	defer w.Close()
	w.Add(filepath.Join(dir, "new"))
	var d []float64
	for i := 0; i < 200; i++ {
		tmp := filepath.Join(dir, fmt.Sprintf("f%d", i))
		os.WriteFile(tmp, nil, 0o644)
		start := time.Now()
		os.Rename(tmp, filepath.Join(dir, "new", filepath.Base(tmp)))
		for ev := range w.Events {
			if ev.Has(fsnotify.Create) && filepath.Base(ev.Name) == filepath.Base(tmp) {
				break
			}
		}
		d = append(d, float64(time.Since(start))/1e6)
	}
	return percentile(d, 50)
}
