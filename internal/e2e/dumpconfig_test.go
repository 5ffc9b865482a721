package e2e

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"pipelined/internal/config"
	"pipelined/internal/env"
	"pipelined/internal/git"
	"pipelined/internal/shellwords"
	"pipelined/internal/testenv"
)

// pythonReading is what Python's configparser reads from a file: each section's raw
// strings, and the typed keys as getboolean and getint give them.
type pythonReading struct {
	values map[string]map[string]string
	typed  map[string]map[string]any
}

func pythonRead(t *testing.T, files []string) map[string]pythonReading {
	t.Helper()
	kinds := map[string]string{}
	for _, k := range config.Keys {
		kinds[k.Name] = k.Kind()
	}
	result := map[string]pythonReading{}
	for file, r := range testenv.Configparser(t, files, kinds) {
		if !r.OK {
			t.Fatalf("Python cannot read %s: %s", file, r.Error)
		}
		reading := pythonReading{values: map[string]map[string]string{}, typed: r.Typed}
		for _, s := range r.Sections {
			reading.values[s.Name] = s.Values
		}
		result[file] = reading
	}
	return result
}

// TestDumpConfigReadsBackInPython runs the built pipelined --dump-config over the whole
// configuration corpus: a valid file dumps to INI that Python reads back to the same
// settings, every key present with defaults filled in; an invalid one exits 2 with one
// line per problem.
func TestDumpConfigReadsBackInPython(t *testing.T) {
	s := newSite(t)
	files, _ := filepath.Glob("../config/testdata/ini/*.ini")
	var originals, dumps []string
	for _, f := range files {
		res := run(t, nil, bin.pipelined, "--dump-config", "--config", f, "--workdir", s.workdir)
		_, loadErr := config.Load(f)
		if loadErr != nil {
			want := len(strings.Split(loadErr.Error(), "\n"))
			if res.code != 2 || strings.Count(res.stderr, "pipelined: ") != want || res.stdout != "" {
				t.Errorf("%s: exit %d, %d lines; want exit 2 and %d lines, one per problem\n%s", f, res.code,
					strings.Count(res.stderr, "\n"), want, res.stderr)
			}
			continue
		}
		if res.code != 0 {
			t.Errorf("%s: exit %d\n%s", f, res.code, res.stderr)
			continue
		}
		dump := filepath.Join(s.dir, filepath.Base(f))
		os.WriteFile(dump, []byte(res.stdout), 0o644)
		originals, dumps = append(originals, f), append(dumps, dump)
	}
	if len(dumps) < 20 {
		t.Fatalf("only %d valid files in the corpus", len(dumps))
	}
	orig := pythonRead(t, originals)
	back := pythonRead(t, dumps)
	for i, f := range originals {
		cfg, _ := config.Load(f)
		for _, p := range cfg.Projects {
			o, d := orig[f].values[p.Name], back[dumps[i]].values[p.Name]
			if d == nil {
				t.Errorf("%s: the dump has no section [%s]", f, p.Name)
				continue
			}
			for _, k := range config.Keys {
				want, set := o[k.Name]
				if !set {
					want = k.Default
				}
				got, ok := d[k.Name]
				if !ok {
					t.Errorf("%s [%s]: the dump lacks %s", f, p.Name, k.Name)
					continue
				}
				if typed, ok := back[dumps[i]].typed[p.Name][k.Name]; ok && k.Kind() != "regex" {
					// Booleans and integers: the same value by getboolean and getint; a key
					// the file did not set has its default.
					wantTyped, set := orig[f].typed[p.Name][k.Name]
					if !set {
						wantTyped = map[string]any{"True": true, "False": false, "50": 50.0, "": nil}[k.Default]
					}
					if typed != wantTyped {
						t.Errorf("%s [%s] %s: Python reads %v from the dump, %v from the file", f, p.Name, k.Name, typed, wantTyped)
					}
					continue
				}
				if !sameSetting(k, got, want, f) {
					t.Errorf("%s [%s] %s: Python reads %q from the dump, %q from the file", f, p.Name, k.Name, got, want)
				}
			}
		}
	}
}

// sameSetting compares a text key's value read from the dump with the one read from the
// file, as the setting they give: NAME=value lines and commands as parsed, paths and text
// after the stripping a value gets.
func sameSetting(k config.Key, dumped, written, file string) bool {
	switch k.Kind() {
	case "NAME=value lines":
		// --dump-config shows the names, never the values.
		a, _ := env.ParseLines(dumped)
		b, _ := env.ParseLines(written)
		for i := range b {
			b[i].Value = "***"
		}
		return reflect.DeepEqual(a, b)
	case "command":
		a, _ := shellwords.Split(dumped)
		b, _ := shellwords.Split(written)
		return reflect.DeepEqual(a, b)
	}
	if k.Name == "env_file" && written != "" && !filepath.IsAbs(written) {
		abs, _ := filepath.Abs(filepath.Join(filepath.Dir(file), written))
		return dumped == abs
	}
	if k.Name == "remote" {
		return dumped == git.MaskURL(strings.TrimSpace(written))
	}
	if k.Name == "dockerfile" {
		return dumped == filepath.Clean(written)
	}
	return dumped == strings.TrimSpace(written)
}
