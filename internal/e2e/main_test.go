package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"pipelined/internal/buildlog"
	"pipelined/internal/testenv"
)

// Paths of the binaries under test, built once by TestMain.
var bin struct{ pipelined, watch, build string }

func TestMain(m *testing.M) {
	if os.Getenv(hogChildEnv) == "1" {
		hogChild()
	}
	stopHog, err := selectLoad()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	run := testenv.MarkRun()
	dir, err := os.MkdirTemp("", "pipelined-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	build := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "pipelined/cmd/...")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // as make build does
	out, err := build.CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building the binaries: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	binariesFrom(dir)
	if other := os.Getenv(binEnv); other != "" {
		binariesFrom(other)
	}
	code := m.Run()
	stopHog()
	os.RemoveAll(dir)
	// Every test has ended and cleaned up: a process still running that this run started (a
	// build, a daemon, a git: each carries the run's marker in its environment) is a leak.
	if left := testenv.ProcessesOfRun(run); len(left) > 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "processes left behind by the tests:\n  %s\n", strings.Join(left, "\n  "))
		code = 1
	}
	os.Exit(code)
}

// result is how a binary ended.
type result struct {
	code           int
	stdout, stderr string
}

// run runs a binary to its end, with the test's environment plus env.
func run(t *testing.T, env []string, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", name, err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// site is a work directory and a configuration file for one test.
type site struct {
	t       *testing.T
	dir     string // temporary directory of the test
	workdir string
	config  string
}

// newSite gives a test its own directories. End-to-end tests run in parallel: each has its
// own repositories, work directory, containers (by label) and ports.
func newSite(t *testing.T) *site {
	t.Helper()
	testenv.EndToEnd(t)
	t.Parallel()
	dir := t.TempDir()
	return &site{t: t, dir: dir, workdir: filepath.Join(dir, "work"), config: filepath.Join(dir, "pipelined.ini")}
}

// writeConfig writes the configuration file; %s verbs are filled from args.
func (s *site) writeConfig(format string, args ...any) {
	s.t.Helper()
	if err := os.WriteFile(s.config, []byte(fmt.Sprintf(format, args...)), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// file writes a file below the test's directory and returns its path.
func (s *site) file(name, content string, mode os.FileMode) string {
	s.t.Helper()
	p := filepath.Join(s.dir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// build runs pipeline-build by hand.
func (s *site) build(args ...string) result {
	s.t.Helper()
	return run(s.t, nil, bin.build, append([]string{"--config", s.config, "--workdir", s.workdir}, args...)...)
}

// buildDirs returns the build directories of a project's ref (encoded), finished or not.
func (s *site) buildDirs(project, encodedRef string) []string {
	return onlyDirs(filepath.Glob(filepath.Join(s.workdir, project, encodedRef, "*")))
}

// onlyDirs keeps the build directories of a glob: not a ref's badge, not its latest link.
func onlyDirs(paths []string, _ error) []string {
	var dirs []string
	for _, p := range paths {
		if info, err := os.Lstat(p); err == nil && info.IsDir() {
			dirs = append(dirs, p)
		}
	}
	return dirs
}

// onlyBuild returns the one build directory of the project, failing if there is not
// exactly one.
func (s *site) onlyBuild(project string) string {
	s.t.Helper()
	dirs := onlyDirs(filepath.Glob(filepath.Join(s.workdir, project, "*", "*")))
	if len(dirs) != 1 {
		s.t.Fatalf("want exactly one build directory of %s, have %v", project, dirs)
	}
	return dirs[0]
}

func status(t *testing.T, buildDir string) *buildlog.Status {
	t.Helper()
	st, err := buildlog.LoadStatus(filepath.Join(buildDir, "build.json"))
	if err != nil {
		t.Fatalf("reading build.json: %v", err)
	}
	return st
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// envFile parses NAME=value lines written by `env` into a map.
func envFile(t *testing.T, path string) map[string]string {
	t.Helper()
	vars := map[string]string{}
	for _, line := range strings.Split(readFile(t, path), "\n") {
		if name, value, ok := strings.Cut(line, "="); ok {
			vars[name] = value
		}
	}
	return vars
}
