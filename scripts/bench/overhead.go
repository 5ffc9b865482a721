package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/outcome"
)

// overhead compares a build through pipeline-build with the same command sequence run
// bare: the commands build.json recorded, replayed one after the other in a directory of
// their own (paired runs, alternating).
func (b *bench) overhead() {
	bare, commit := b.repo("overhead")
	image := "pipelined-bench/busybox:1"
	sh(b.root, "scripts/base-image.sh", image)
	dockerRepo := b.dockerRepo(image)
	workdir := filepath.Join(b.tmp, "overhead-work")
	cfg := filepath.Join(b.tmp, "overhead.ini")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`[plain]
remote = %s
prepare_callback = /bin/true
success_callback = /bin/true

[docker]
remote = %s
build = True
run = True
pull = False
prepare_callback = /bin/true
success_callback = /bin/true
`, bare, dockerRepo.path)), 0o644)
	b.cleanup = append(b.cleanup, func() {
		out, _ := exec.Command("docker", "images", "-q", "--filter", "label=pipelined.workdir="+workdir).Output()
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			exec.Command("docker", append([]string{"rmi", "-f"}, ids...)...).Run()
		}
	})

	for _, c := range []struct {
		project, commit string
		pairs           int
	}{{"plain", commit, 15}, {"docker", dockerRepo.commit, 8}} {
		if c.project == "docker" {
			b.pipelineBuild(cfg, workdir, c.project, c.commit) // fills docker's build cache
		}
		var through, bareRuns, diffs []float64
		for i := 0; i < c.pairs; i++ {
			a, st := b.pipelineBuild(cfg, workdir, c.project, c.commit)
			r := replay(st, filepath.Join(b.tmp, fmt.Sprintf("replay-%s-%d", c.project, i)))
			through, bareRuns = append(through, ms(a)), append(bareRuns, ms(r))
			diffs = append(diffs, ms(a)-ms(r))
		}
		d := median(diffs)
		b.add(fmt.Sprintf("pipeline overhead per build, %s", c.project), d, "ms", 20, true,
			fmt.Sprintf("%.0f ms through pipeline-build, %.0f ms bare", median(through), median(bareRuns)))
		if median(through) >= 1000 {
			b.add(fmt.Sprintf("pipeline overhead relative to the build, %s", c.project), 100*d/median(through), "%", 1, true, "")
		}
	}
}

// pipelineBuild runs one build by hand and returns its wall time and status.
func (b *bench) pipelineBuild(cfg, workdir, project, commit string) (time.Duration, *buildlog.Status) {
	u := must(measure(nil, filepath.Join(b.bin, "pipeline-build"), "--config", cfg, "--workdir", workdir, project, "refs/heads/main", commit))
	dirs, _ := filepath.Glob(filepath.Join(workdir, project, "*", "*"))
	sort.Slice(dirs, func(i, j int) bool { return modTime(dirs[i]).After(modTime(dirs[j])) })
	st, err := buildlog.LoadStatus(filepath.Join(dirs[0], "build.json"))
	if err != nil || st.Result != outcome.Success {
		fail(fmt.Errorf("the %s build did not succeed: %v %+v", project, err, st))
	}
	return u.wall, st
}

// replay runs the commands a build recorded, in dir instead of the build's directory.
func replay(st *buildlog.Status, dir string) time.Duration {
	os.MkdirAll(filepath.Join(dir, "drop"), 0o755)
	start := time.Now()
	for _, c := range st.Steps {
		argv := make([]string, len(c.Argv))
		for i, a := range c.Argv {
			argv[i] = strings.ReplaceAll(a, st.Path+".tmp", dir)
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = dir
		if c.Step == "prepare" || c.Step == "success-callback" || c.Step == "checkout" {
			cmd.Dir = filepath.Join(dir, "build")
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			fail(fmt.Errorf("replaying %v: %v\n%s", argv, err, lastLines(string(out))))
		}
	}
	return time.Since(start)
}

type repoRef struct{ path, commit string }

func (b *bench) dockerRepo(image string) repoRef {
	work := filepath.Join(b.tmp, "docker.work")
	bare := filepath.Join(b.tmp, "docker.git")
	sh("", "git", "init", "-q", "-b", "main", work)
	os.WriteFile(filepath.Join(work, "Dockerfile"), []byte("FROM "+image+"\nRUN echo built > /built\nCMD [\"/bin/true\"]\n"), 0o644)
	sh(work, "git", "add", "-A")
	sh(work, "git", "commit", "-q", "-m", "docker")
	sh("", "git", "clone", "-q", "--bare", work, bare)
	return repoRef{bare, sh(work, "git", "rev-parse", "HEAD")}
}

func modTime(p string) time.Time {
	info, err := os.Stat(p)
	if err != nil {
		return time.Time{}
	}
	return info.ModTime()
}

func median(v []float64) float64 { return percentile(v, 50) }
