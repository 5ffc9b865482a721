// Command bench measures pipelined as SPEC §10 and the "make bench" issue ask: the idle
// footprint of the daemon and its watcher, the cost and scale of polling (https listed
// in-process against git ls-remote over the same TLS server among them), the dispatch
// latency, the pipeline's overhead over the bare commands, the memory and CPU of a build
// that prints a gigabyte, and shallow against full clones. It sets up everything it needs
// (repositories, git daemons, an sshd on 127.0.0.1, the base image), measures the anchors
// in the same run, prints one table and writes bench-results.json. Run it with make bench.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// figure is one line of the table and one object of bench-results.json.
type figure struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Target string  `json:"target"` // "" for a figure reported without a target
	Pass   *bool   `json:"pass"`   // nil for a figure without a target
	Note   string  `json:"note,omitempty"`
}

type bench struct {
	bin     string // directory of the built binaries
	root    string // the module root (scripts/ lives there)
	tmp     string // scratch directory, removed at the end
	figures []figure
	cleanup []func()
	only    string
}

// current is the benchmark running, for fail to clean up after.
var current *bench

func main() {
	if root := os.Getenv(serveEnv); root != "" {
		serveHTTPS(root) // a child: the https server of httpsListing
		return
	}
	b := &bench{}
	current = b
	out := flag.String("out", "bench-results.json", "where to write the figures as JSON")
	flag.StringVar(&b.bin, "bin", "bin", "directory of pipelined, pipeline-watch and pipeline-build")
	flag.StringVar(&b.only, "only", "", "run only the sections whose name contains this")
	flag.Parse()
	var err error
	if b.bin, err = filepath.Abs(b.bin); err != nil {
		fail(err)
	}
	b.root, _ = os.Getwd()
	if b.tmp, err = os.MkdirTemp("", "pipelined-bench-"); err != nil {
		fail(err)
	}
	defer b.close()

	start := time.Now()
	sections := []struct {
		name string
		run  func()
	}{
		{"idle", b.idle},
		{"poll cost", b.pollCost},
		{"poll scale", b.pollScale},
		{"https listing", b.httpsListing},
		{"dispatch", b.dispatch},
		{"overhead", b.overhead},
		{"log streaming", b.logStreaming},
		{"clone", b.cloneChoice},
	}
	for _, s := range sections {
		if b.only != "" && !strings.Contains(s.name, b.only) {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: %s …\n", s.name)
		s.run()
	}
	b.print(time.Since(start))
	data, _ := json.MarshalIndent(b.figures, "", "  ")
	if err := os.WriteFile(*out, append(data, '\n'), 0o644); err != nil {
		fail(err)
	}
}

// add records a figure with a target: at most (atMost true) or at least the limit.
func (b *bench) add(name string, value float64, unit string, limit float64, atMost bool, note string) {
	pass := value <= limit
	target := fmt.Sprintf("≤ %s", num(limit))
	if !atMost {
		pass = value >= limit
		target = fmt.Sprintf("≥ %s", num(limit))
	}
	b.figures = append(b.figures, figure{Name: name, Value: value, Unit: unit, Target: target + " " + unit, Pass: &pass, Note: note})
}

// report records a figure without a target: an anchor, or something that guides a default.
func (b *bench) report(name string, value float64, unit, note string) {
	b.figures = append(b.figures, figure{Name: name, Value: value, Unit: unit, Note: note})
}

func (b *bench) print(took time.Duration) {
	host, _ := os.Hostname()
	fmt.Printf("\npipelined benchmarks, %s, %s (%s), took %s\n\n", time.Now().UTC().Format("2006-01-02"), host, machine(), took.Round(time.Second))
	fmt.Println("| figure | value | target | ok | note |")
	fmt.Println("|---|---:|---|---|---|")
	for _, f := range b.figures {
		ok := ""
		if f.Pass != nil {
			ok = map[bool]string{true: "yes", false: "**no**"}[*f.Pass]
		}
		fmt.Printf("| %s | %s %s | %s | %s | %s |\n", f.Name, num(f.Value), f.Unit, f.Target, ok, f.Note)
	}
}

func (b *bench) close() {
	for i := len(b.cleanup) - 1; i >= 0; i-- {
		b.cleanup[i]()
	}
	// What outlives its starter (ssh master connections) names the scratch directory.
	killMentioning(b.tmp)
	os.RemoveAll(b.tmp)
}

func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	case v >= 0.1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func machine() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	cores := strings.Count(string(data), "processor\t:")
	mem, _ := os.ReadFile("/proc/meminfo")
	total := ""
	if f := strings.Fields(string(mem)); len(f) > 1 {
		total = f[1]
	}
	return fmt.Sprintf("%d cores, MemTotal %s kB", cores, total)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	if current != nil {
		current.close()
	}
	os.Exit(1)
}
