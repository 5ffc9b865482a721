package config

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Configuration bombs: files of a few hundred bytes to a few megabytes that used to take 49 s
// (%(name)s fan-out) or gigabytes (a large [DEFAULT] value in 1,600 sections) to load. Each is
// loaded, and dumped as the daemon does at start, in a child process — the test binary run
// again — so that its wall time and peak memory are its own.

// The bounds: generous by orders of magnitude for a linear reader on a busy machine, and
// orders of magnitude below what the bombs cost when they go off. A real file of 10,000
// projects (see the cases) peaks at about 55 MiB, mostly gopkg.in/ini.v1's structures.
var (
	loadTime   = 3 * time.Second
	loadMemory = 80 << 20
)

func init() {
	if raceEnabled {
		loadTime *= 5
		loadMemory *= 4
	}
}

// childEnv names the file TestLoadChild loads.
const childEnv = "PIPELINED_TEST_CONFIG_LOAD"

// TestLoadChild is the child process of loadInChild; it does nothing in a normal run.
func TestLoadChild(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("the child process of the bomb tests")
	}
	start := time.Now()
	cfg, src, err := LoadSource(path)
	if err == nil {
		// What the daemon does at every start: write the snapshot.
		if _, err := io.Discard.Write(Snapshot(src, path)); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("loaded %d projects\n", len(cfg.Projects))
	} else {
		first := Problems(err)[0].Error()
		fmt.Printf("refused (%d problems): %s\n", len(Problems(err)), first)
	}
	fmt.Printf("took %v\n", time.Since(start))
	// The peak resident size of this process, from its own memory map: see loadInChild.
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("%s\n", regexp.MustCompile(`VmHWM:\s*\d+ kB`).Find(status))
}

// loadInChild loads path in a child process and fails the test if that takes longer than
// loadTime or more memory than loadMemory. It returns what the child printed.
//
// The peak is the child's own VmHWM. The rusage of the child (ProcessState's Maxrss) is no
// use here: Linux starts it with the peak of the parent, because exec records the high-water
// mark of the memory it replaces, and Go starts children with vfork, so that memory is this
// test process's.
func loadInChild(t *testing.T, path string) string {
	t.Helper()
	// A child that goes past the bound is stopped well after it, rather than waited for.
	ctx, cancel := context.WithTimeout(context.Background(), 10*loadTime)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestLoadChild$", "-test.count=1")
	// The race runtime sleeps a second at exit unless told not to.
	cmd.Env = append(os.Environ(), childEnv+"="+path, "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	start := time.Now()
	out, err := cmd.Output()
	wall := time.Since(start)
	if err != nil {
		t.Fatalf("child, after %v: %v\n%s", wall, err, out)
	}
	m := regexp.MustCompile(`VmHWM:\s*(\d+) kB`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("the child did not report its peak memory:\n%s", out)
	}
	peak, _ := strconv.Atoi(string(m[1]))
	// CPU time, not wall time, is compared with the bound: what the file costs, whatever
	// else keeps the machine busy meanwhile.
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	t.Logf("cpu %v, wall %v, peak %d KiB (rusage maxrss %d KiB):\n%s", cpu, wall, peak, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss, out)
	if cpu > loadTime {
		t.Errorf("loading took %v of CPU, want less than %v", cpu, loadTime)
	}
	if peak<<10 > loadMemory {
		t.Errorf("loading peaked at %d MiB, want less than %d MiB", peak>>10, loadMemory>>20)
	}
	return string(out)
}

// writeFile writes a generated file without holding it in memory, so that this process stays
// small too.
func writeFile(t *testing.T, gen func(w *bufio.Writer)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bomb.ini")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	gen(w)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// fanOut writes keys a0 … a8, each referring eight times to the next, and a9 = leaf: a0
// expands a9 8^9 = 134 million times when references are expanded where they appear.
func fanOut(w *bufio.Writer, leaf string) {
	for i := 0; i < 9; i++ {
		fmt.Fprintf(w, "a%d = %s\n", i, strings.Repeat(fmt.Sprintf("%%(a%d)s", i+1), 8))
	}
	fmt.Fprintf(w, "a9 = %s\n", leaf)
}

// fanOutWide writes nine levels of eight keys each, every key referring to the eight keys of
// the next level, and an empty tenth level: a key of the first level expands 8^9 leaves even
// when each distinct reference of a value is expanded only once.
func fanOutWide(w *bufio.Writer) {
	for i := 0; i < 9; i++ {
		for j := 0; j < 8; j++ {
			fmt.Fprintf(w, "w%d_%d = ", i, j)
			for k := 0; k < 8; k++ {
				fmt.Fprintf(w, "%%(w%d_%d)s", i+1, k)
			}
			w.WriteString("\n")
		}
	}
	for j := 0; j < 8; j++ {
		fmt.Fprintf(w, "w9_%d =\n", j)
	}
}

// projects writes n sections p0 … p(n-1), each with a remote and body.
func projects(w *bufio.Writer, n int, body string) {
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "[p%d]\nremote = /srv/git/p%d.git\n%s", i, i, body)
	}
}

// bigValue writes a value of nearly MaxValueSize bytes.
func bigValue(w *bufio.Writer) {
	for i := 0; i < MaxValueSize/64-1; i++ {
		w.WriteString("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	}
}

func TestBombs(t *testing.T) {
	tooLargeHere := "grows beyond 32 MiB here"
	cases := []struct {
		name string
		gen  func(w *bufio.Writer)
		want string // in the child's output
	}{
		{"fan-out 8, nine levels, empty leaves", func(w *bufio.Writer) {
			w.WriteString("[web]\nremote = /srv/git/web.git\n")
			fanOut(w, "")
		}, "loaded 1 projects"},
		{"fan-out 8, nine levels, one byte leaves", func(w *bufio.Writer) {
			w.WriteString("[web]\nremote = /srv/git/web.git\n")
			fanOut(w, "x")
		}, "[web] a0: the value grows beyond 1024 KiB through %(name)s references"},
		{"fan-out 8 over distinct keys, nine levels, empty leaves", func(w *bufio.Writer) {
			w.WriteString("[web]\nremote = /srv/git/web.git\nlabel = x=%(w0_0)s\n")
			fanOutWide(w)
		}, "loaded 1 projects"},
		{"fan-out in [DEFAULT], 1,600 sections", func(w *bufio.Writer) {
			w.WriteString("[DEFAULT]\n")
			fanOut(w, "")
			projects(w, 1600, "")
		}, "loaded 1600 projects"},
		{"1 MiB [DEFAULT] value inherited by 1,600 sections", func(w *bufio.Writer) {
			w.WriteString("[DEFAULT]\nlabel = ")
			bigValue(w)
			w.WriteString("\n")
			projects(w, 1600, "")
		}, tooLargeHere},
		{"1 MiB [DEFAULT] value referenced by 1,600 sections", func(w *bufio.Writer) {
			w.WriteString("[DEFAULT]\nbig = ")
			bigValue(w)
			w.WriteString("\n")
			projects(w, 1600, "label = big=%(big)s\n")
		}, tooLargeHere},
		{"1 MiB [DEFAULT] value of empty references, 1,600 sections", func(w *bufio.Writer) {
			w.WriteString("[DEFAULT]\nempty =\nr = ")
			for i := 0; i < MaxValueSize/len("%(empty)s"); i++ {
				w.WriteString("%(empty)s")
			}
			w.WriteString("\n")
			projects(w, 1600, "")
		}, tooLargeHere},
		{"2,000 [DEFAULT] helper keys, 1,600 sections", func(w *bufio.Writer) {
			w.WriteString("[DEFAULT]\n")
			for i := 0; i < 2000; i++ {
				fmt.Fprintf(w, "k%d =\n", i)
			}
			projects(w, 1600, "")
		}, tooLargeHere},
		{"4 MiB of keys", func(w *bufio.Writer) {
			w.WriteString("[web]\nremote = /srv/git/web.git\n")
			for n := 0; n < MaxFileSize-64; n += len("k1234567 =\n") {
				fmt.Fprintf(w, "k%07d =\n", n)
			}
		}, tooLargeHere},
		{"20,000 helper keys of 60 bytes", func(w *bufio.Writer) {
			// Within the bound, so it loads, with a warning for each unknown key. Twice as many
			// took 6 s while ini.v1 peeked at its whole read buffer for continuation lines.
			w.WriteString("[web]\nremote = /srv/git/web.git\n")
			for i := 0; i < 20000; i++ {
				fmt.Fprintf(w, "key%d = %s\n", i, strings.Repeat("v", 60))
			}
		}, "loaded 1 projects"},
		{"25,000 empty helper keys", func(w *bufio.Writer) {
			w.WriteString("[web]\nremote = /srv/git/web.git\n")
			for i := 0; i < 25000; i++ {
				fmt.Fprintf(w, "key%d =\n", i)
			}
		}, "loaded 1 projects"},
		{"48,000 helper keys of 60 bytes", func(w *bufio.Writer) {
			w.WriteString("[web]\nremote = /srv/git/web.git\n")
			for i := 0; i < 48000; i++ {
				fmt.Fprintf(w, "key%d = %s\n", i, strings.Repeat("v", 60))
			}
		}, tooLargeHere},
		{"10,000 projects from [DEFAULT]", func(w *bufio.Writer) {
			// Not a bomb: a big installation, which loads (and so does its snapshot).
			w.WriteString("[DEFAULT]\nbranches = main|release/.*\ntags = v.*\nkeep_builds = 5\nenv =\n  A=1\n  B=2\n")
			for i := 0; i < 10000; i++ {
				fmt.Fprintf(w, "\n[p%05d]\nremote = /srv/git/p%05d.git\n", i, i)
			}
		}, "loaded 10000 projects"},
		{"4 MiB of sections", func(w *bufio.Writer) {
			for i, n := 0, 0; n < MaxFileSize-64; i++ {
				s := fmt.Sprintf("[p%d]\nremote = /r\n", i)
				w.WriteString(s)
				n += len(s)
			}
		}, tooLargeHere},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := loadInChild(t, writeFile(t, tc.gen))
			if !strings.Contains(out, tc.want) {
				t.Errorf("want %q in the child's output", tc.want)
			}
		})
	}
}
