package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// cloneChoice compares shallow and full clones of a repository with 3,000 commits: what
// the default shallow = True saves.
func (b *bench) cloneChoice() {
	const commits, files = 3000, 200
	src := filepath.Join(b.tmp, "history.git")
	sh("", "git", "init", "-q", "--bare", src)
	var stream bytes.Buffer
	for i := 1; i <= commits; i++ {
		msg := fmt.Sprintf("change %d", i)
		fmt.Fprintf(&stream, "commit refs/heads/main\nmark :%d\ncommitter bench <bench@example.com> %d +0000\ndata %d\n%s\n", i, 1700000000+i, len(msg), msg)
		if i > 1 {
			fmt.Fprintf(&stream, "from :%d\n", i-1)
		}
		for j := 0; j < 2; j++ {
			content := strings.Repeat(fmt.Sprintf("line %d of change %d\n", j, i), 60)
			fmt.Fprintf(&stream, "M 100644 inline src/file%03d.txt\ndata %d\n%s\n", (i*7+j*13)%files, len(content), content)
		}
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = src
	cmd.Stdin = &stream
	if out, err := cmd.CombinedOutput(); err != nil {
		fail(fmt.Errorf("git fast-import: %v\n%s", err, out))
	}
	sh(src, "git", "gc", "-q")

	run := func(shallow bool, i int) (usage, int64) {
		dir := filepath.Join(b.tmp, fmt.Sprintf("clone-%v-%d", shallow, i))
		os.MkdirAll(dir, 0o755)
		args := []string{"--no-pager", "-C", dir, "clone", "--no-local", "--no-hardlinks", "--quiet"}
		if shallow {
			args = append(args, "--depth", "1", "--single-branch", "--branch", "main")
		}
		u := must(measure(nil, "git", append(args, "--", src, "build")...))
		size := dirSize(filepath.Join(dir, "build", ".git"))
		os.RemoveAll(dir)
		return u, size
	}
	var wall, cpu [2][]float64
	var size [2]int64
	for i := 0; i < 5; i++ {
		for k, shallow := range []bool{true, false} {
			u, s := run(shallow, i)
			wall[k] = append(wall[k], ms(u.wall))
			cpu[k] = append(cpu[k], ms(u.cpu))
			size[k] = s
		}
	}
	b.report("shallow clone, 3,000 commits: wall", median(wall[0]), "ms", fmt.Sprintf("full: %.0f ms", median(wall[1])))
	b.report("shallow clone: CPU", median(cpu[0]), "ms", fmt.Sprintf("full: %.0f ms", median(cpu[1])))
	b.report("shallow clone: .git size", float64(size[0])/(1<<20), "MiB", fmt.Sprintf("full: %.1f MiB", float64(size[1])/(1<<20)))
}

func dirSize(dir string) int64 {
	var total int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			total += info.Size()
		}
		return nil
	})
	return total
}
