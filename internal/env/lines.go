package env

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"pipelined/internal/safeopen"
)

// Var is one NAME=value pair.
type Var struct {
	Name  string
	Value string
}

// validName is what a shell, docker --env and docker --build-arg all accept as a name.
var validName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ValidName reports whether name can be an environment variable name.
func ValidName(name string) bool { return validName.MatchString(name) }

// LineError is a bad line in NAME=value text. Its message says what is wrong with the line
// and never quotes it: the line may hold a secret, with or without its "=" (a base64 token on
// a line of its own would otherwise show up in the log as a "name").
type LineError struct {
	File string // the env_file the line was read from; "" for text from elsewhere (the env key)
	Line int    // 1-based line within the text
	Msg  string
}

// Error formats the problem as "FILE:LINE: MSG", or "line LINE: MSG" without a file.
func (e *LineError) Error() string {
	if e.File != "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// The messages of a [LineError].
const (
	msgNoEquals = `not a NAME=value line: it has no "="`
	msgBadName  = `the name before "=" is not a variable name (letters, digits and _, not starting with a digit)`
)

// ParseLines reads NAME=value lines, the format of both env_file and the inline env key.
// Blank lines and lines starting with "#" are ignored; the value is everything after the
// first "=", with the whitespace around name and value removed; quotes are not removed (as
// with docker --env-file). Every bad line is reported as a [*LineError], joined.
func ParseLines(text string) ([]Var, error) {
	return parseLines(text, "")
}

func parseLines(text, file string) ([]Var, error) {
	var vars []Var
	var errs []error
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case !ok:
			errs = append(errs, &LineError{File: file, Line: i + 1, Msg: msgNoEquals})
		case !ValidName(name):
			errs = append(errs, &LineError{File: file, Line: i + 1, Msg: msgBadName})
		default:
			vars = append(vars, Var{Name: name, Value: value})
		}
	}
	if errs != nil {
		return nil, errors.Join(errs...)
	}
	return vars, nil
}

// MaxFileSize bounds an env_file. A few hundred variables take a few kilobytes; anything
// larger is not an env file (env_file = /var/log/syslog, or /dev/zero, which never ends).
const MaxFileSize = 1 << 20

// ReadFile reads an env_file. It must be a regular file (symbolic links are followed) of at
// most MaxFileSize bytes: the file is opened without blocking, so that a FIFO, whose open
// waits for a writer, is refused at once like any other special file; its type and size are
// checked on the opened file, so that it cannot be swapped in between; and it is read through
// a limit anyway, as it may grow after the check. Every bad line is reported as a
// [*LineError] naming the file and the line, never the line's content.
func ReadFile(path string) ([]Var, error) {
	f, err := safeopen.Open(path, os.O_RDONLY, MaxFileSize, true)
	var kind *safeopen.KindError
	switch {
	case errors.As(err, &kind):
		return nil, fmt.Errorf("%s: %s, not a regular file of NAME=value lines", path, kind.Kind)
	case errors.As(err, new(*safeopen.SizeError)):
		return nil, tooLarge(path)
	case err != nil:
		return nil, err
	}
	defer f.Close()
	return read(f, path)
}

// read parses the env file from r, reading at most one byte more than MaxFileSize.
func read(r io.Reader, path string) ([]Var, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, tooLarge(path)
	}
	return parseLines(strings.ReplaceAll(string(data), "\r\n", "\n"), path)
}

func tooLarge(path string) error {
	return fmt.Errorf("%s: larger than %d KiB, the most an env file may have; is it the right file?", path, MaxFileSize>>10)
}
