package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// pollCost is the CPU of one watcher pass per remote, ours against bare git ls-remote, for
// file paths, git daemon and ssh. The bare commands run from a shell loop, so that both
// sides include what starting a process costs its parent (on this kind of machine, more
// than a millisecond). Both run one ls-remote at a time: on two shared cores the CPU time
// of every process grows with the processes running at once, which would swamp a
// difference of a millisecond. Three rounds, alternating; medians.
func (b *bench) pollCost() {
	const n, rounds = 40, 3
	bare, commit := b.repo("poll")
	sshConfig := b.sshd()
	linkDir := filepath.Join(b.tmp, "poll-remotes")
	paths := links(linkDir, bare, n)
	daemonURL := b.gitDaemon(linkDir)
	transports := []struct {
		name, short string
		remotes     []string
		env         []string
	}{
		{"file", "file", paths, nil},
		{"git://", "git", prefixed(daemonURL, paths), nil},
		{"ssh", "ssh", prefixed("ssh://bench", paths), []string{"GIT_SSH_COMMAND=ssh -F " + sshConfig}},
	}
	for _, tr := range transports {
		workdir := filepath.Join(b.tmp, "pw-"+tr.short)
		extra := ""
		if tr.env != nil {
			// The project names its ssh command, as an operator with a deploy key would;
			// the watcher adds connection sharing to it.
			extra = "env = " + tr.env[0]
		}
		cfg := b.projects("poll-"+tr.short, tr.remotes, commit, workdir, extra)
		watch := []string{"--config", cfg, "--workdir", workdir, "--once", "--concurrency", "1"}
		if tr.name == "ssh" {
			// The first pass opens the shared connection; the others are what every pass
			// after it costs.
			must(measure(nil, filepath.Join(b.bin, "pipeline-watch"), watch...))
		}
		var ours, plain []float64
		for i := 0; i < rounds; i++ {
			ours = append(ours, ms(must(measure(nil, filepath.Join(b.bin, "pipeline-watch"), watch...)).cpu)/n)
			plain = append(plain, ms(lsRemoteLoop(tr.env, tr.remotes).cpu)/n)
		}
		b.report("anchor: bare git ls-remote CPU, "+tr.name, median(plain), "ms", "per call")
		if tr.name == "ssh" {
			b.add("poll CPU per ssh remote, shared connection", median(ours), "ms", 15, true, "")
			continue
		}
		b.add("poll overhead per remote over bare ls-remote, "+tr.name, median(ours)-median(plain), "ms", 1, true, "")
	}
	b.passStart(paths[0], commit)
}

// passStart is what starting a pass costs: pipeline-watch --once over one file remote, less
// the bare ls-remote of it — the daemon pays it every interval.
func (b *bench) passStart(remote, commit string) {
	const rounds = 11
	workdir := filepath.Join(b.tmp, "pass-start")
	cfg := b.projects("pass-start", []string{remote}, commit, workdir, "")
	var wall, cpu []float64
	for i := 0; i < rounds; i++ {
		pass := must(measure(nil, filepath.Join(b.bin, "pipeline-watch"), "--config", cfg, "--workdir", workdir, "--once", "--quiet"))
		bare := lsRemoteLoop(nil, []string{remote})
		wall = append(wall, ms(pass.wall-bare.wall))
		cpu = append(cpu, ms(pass.cpu-bare.cpu))
	}
	b.add("cost of starting a pass, wall", median(wall), "ms", 50, true, fmt.Sprintf("CPU %.1f ms", median(cpu)))
}

// pollScale is one pass over 1,000 git:// remotes spread over four git daemons.
func (b *bench) pollScale() {
	const perDaemon, daemons, bound = 250, 4, 16
	bare, commit := b.repo("scale")
	var remotes []string
	for d := 0; d < daemons; d++ {
		dir := filepath.Join(b.tmp, fmt.Sprintf("scale-%d", d))
		paths := links(dir, bare, perDaemon)
		remotes = append(remotes, prefixed(b.gitDaemon(dir), paths)...)
	}
	workdir := filepath.Join(b.tmp, "scale-work")
	cfg := b.projects("scale", remotes, commit, workdir, "")
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if n := int64(countProcesses("ls-remote", "git://127.0.0.1")); n > peak.Load() {
				peak.Store(n)
			}
		}
	}()
	u := must(measure(nil, filepath.Join(b.bin, "pipeline-watch"), "--config", cfg, "--workdir", workdir, "--once",
		"--concurrency", fmt.Sprint(bound)))
	close(done)
	// The same 1,000 ls-remote, bare, at the same concurrency: what git alone costs here.
	start := time.Now()
	bareCPU := lsRemoteAll(nil, remotes, bound)
	bareWall := time.Since(start)
	b.add("poll of 1,000 git:// remotes, wall", u.wall.Seconds(), "s", 10, true, fmt.Sprintf("bare git: %.1f s", bareWall.Seconds()))
	b.add("poll of 1,000 git:// remotes, CPU", u.cpu.Seconds(), "CPU-s", 5, true, fmt.Sprintf("bare git: %.1f CPU-s", bareCPU.Seconds()))
	b.add("ls-remote in flight at once (sampled)", float64(peak.Load()), "", bound, true, "--concurrency 16")

	// The same pass over 1,000 file remotes.
	files := links(filepath.Join(b.tmp, "scale-files"), bare, perDaemon*daemons)
	fcfg := b.projects("scale-files", files, commit, filepath.Join(b.tmp, "scale-files-work"), "")
	fu := must(measure(nil, filepath.Join(b.bin, "pipeline-watch"), "--config", fcfg, "--workdir", filepath.Join(b.tmp, "scale-files-work"),
		"--once", "--concurrency", fmt.Sprint(bound)))
	start = time.Now()
	fileCPU := lsRemoteAll(nil, files, bound)
	b.add("poll of 1,000 file remotes, CPU over the bare commands", (fu.cpu - fileCPU).Seconds(), "CPU-s", 1, true,
		fmt.Sprintf("pass %.1f CPU-s, bare git %.1f CPU-s (%.1f s wall)", fu.cpu.Seconds(), fileCPU.Seconds(), time.Since(start).Seconds()))
}

func prefixed(prefix string, paths []string) []string {
	var out []string
	for _, p := range paths {
		if strings.HasPrefix(prefix, "git://") {
			out = append(out, prefix+filepath.Base(p))
		} else {
			out = append(out, prefix+p)
		}
	}
	return out
}

func must(u usage) usage {
	if u.err != nil {
		fail(u.err)
	}
	return u
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// lsRemoteAll runs bare git ls-remote for every remote, concurrently, and returns their CPU.
func lsRemoteAll(env, remotes []string, concurrency int) time.Duration {
	var mu sync.Mutex
	var total time.Duration
	var wg sync.WaitGroup
	slots := make(chan struct{}, concurrency)
	for _, r := range remotes {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			u := must(measure(env, "git", "--no-pager", "ls-remote", "--heads", "--tags", "--refs", "--quiet", "--", r))
			mu.Lock()
			total += u.cpu
			mu.Unlock()
		}()
	}
	wg.Wait()
	return total
}

// lsRemoteLoop runs bare git ls-remote for every remote from one shell loop and returns
// what the whole loop cost.
func lsRemoteLoop(env, remotes []string) usage {
	var script strings.Builder
	for _, r := range remotes {
		fmt.Fprintf(&script, "git --no-pager ls-remote --heads --tags --refs --quiet -- '%s' >/dev/null || exit 1\n", r)
	}
	return must(measure(env, "sh", "-c", script.String()))
}
