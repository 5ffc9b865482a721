package env

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

// readFileAtOnce runs ReadFile and fails the test if it does not return within a bound that
// is generous for a refusal: before, a FIFO blocked it until a writer came, and /dev/zero
// filled memory. Going past the bound fails the test instead of hanging it.
func readFileAtOnce(t *testing.T, path string) ([]Var, error) {
	t.Helper()
	type result struct {
		vars []Var
		err  error
	}
	done := make(chan result, 1)
	go func() {
		vars, err := ReadFile(path)
		done <- result{vars, err}
	}()
	select {
	case r := <-done:
		return r.vars, r.err
	case <-time.After(5 * time.Second):
		t.Fatalf("ReadFile(%s) has not returned after 5 s", path)
		return nil, nil
	}
}

func TestReadFileRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link-to-fifo")
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"/dev/zero": "/dev/zero: a character device, not a regular file of NAME=value lines",
		fifo:        fifo + ": a FIFO (named pipe), not a regular file of NAME=value lines",
		link:        link + ": a FIFO (named pipe), not a regular file of NAME=value lines",
		dir:         dir + ": a directory, not a regular file of NAME=value lines",
	}
	for path, want := range cases {
		vars, err := readFileAtOnce(t, path)
		if err == nil || err.Error() != want || vars != nil {
			t.Errorf("ReadFile(%s) = %v, %v; want %q", path, vars, err, want)
		}
	}
}

func TestReadFileFollowsSymlinksToFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "build.env")
	if err := os.WriteFile(file, []byte("A=1\r\nB=2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.env")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	vars, err := readFileAtOnce(t, link)
	if err != nil || len(vars) != 2 || vars[0] != (Var{"A", "1"}) || vars[1] != (Var{"B", "2"}) {
		t.Errorf("ReadFile = %q, %v", vars, err)
	}
}

func TestReadFileSizeBound(t *testing.T) {
	dir := t.TempDir()
	// Exactly MaxFileSize bytes of NAME=value lines: read in full.
	line := "NAME_0123456789=" + strings.Repeat("v", 47) + "\n" // 64 bytes
	exact := filepath.Join(dir, "exact.env")
	if err := os.WriteFile(exact, []byte(strings.Repeat(line, MaxFileSize/len(line))), 0o600); err != nil {
		t.Fatal(err)
	}
	if vars, err := readFileAtOnce(t, exact); err != nil || len(vars) != MaxFileSize/len(line) {
		t.Errorf("ReadFile of %d bytes = %d variables, %v", MaxFileSize, len(vars), err)
	}
	for name, size := range map[string]int{"one-byte-over.env": MaxFileSize + 1, "two-mib.env": 2 << 20} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(strings.Repeat("A", size)), 0o600); err != nil {
			t.Fatal(err)
		}
		want := path + ": larger than 1024 KiB, the most an env file may have; is it the right file?"
		if vars, err := readFileAtOnce(t, path); err == nil || err.Error() != want || vars != nil {
			t.Errorf("ReadFile of %d bytes = %v, %v; want %q", size, vars, err, want)
		}
	}
}

// TestReadStopsAtTheBound: the file is read through a limit, in case it grows after its
// size was checked.
func TestReadStopsAtTheBound(t *testing.T) {
	endless := iotest.OneByteReader(strings.NewReader(strings.Repeat("A=1\n", MaxFileSize))) // 4 MiB
	want := "grown.env: larger than 1024 KiB, the most an env file may have; is it the right file?"
	if vars, err := read(endless, "grown.env"); err == nil || err.Error() != want || vars != nil {
		t.Errorf("read = %v, %v; want %q", vars, err, want)
	}
	boom := errors.New("input/output error")
	if _, err := read(iotest.ErrReader(boom), "bad.env"); !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "bad.env: ") {
		t.Errorf("read of a failing reader = %v, want the error with the file name", err)
	}
}

func TestReadFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.env")
	if _, err := readFileAtOnce(t, path); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("ReadFile of a missing file = %v", err)
	}
}

// TestBadLinesNameFileAndLineOnly: a malformed line is reported by file and line number,
// never by any of its content — a token on a line of its own, or a value after a bad name.
func TestBadLinesNameFileAndLineOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "build.env")
	content := "# comment\nA=1\nhunter2hunter2\n\nc2Vj+cmV0==\n1TOKEN=s3cr3t\nB=2\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(path)
	want := path + `:3: not a NAME=value line: it has no "="` + "\n" +
		path + `:5: the name before "=" is not a variable name (letters, digits and _, not starting with a digit)` + "\n" +
		path + `:6: the name before "=" is not a variable name (letters, digits and _, not starting with a digit)`
	if err == nil || err.Error() != want {
		t.Fatalf("ReadFile = %v, want\n%s", err, want)
	}
	var le *LineError
	if !errors.As(err, &le) || le.File != path || le.Line != 3 {
		t.Errorf("the first problem is %#v, want a *LineError for line 3 of %s", le, path)
	}
	_, err = ForProject(nil, path, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "env_file: "+path+":3: ") {
		t.Errorf("ForProject = %v, want the env_file key, the file and the line", err)
	}
	// The same text given inline has no file: the caller names the key.
	_, err = ParseLines(content)
	if err == nil || !strings.HasPrefix(err.Error(), `line 3: not a NAME=value line: it has no "="`) {
		t.Errorf("ParseLines = %v", err)
	}
}
