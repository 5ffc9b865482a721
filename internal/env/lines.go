package env

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
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

// LineError is a bad line in NAME=value text.
type LineError struct {
	Line int // 1-based line within the text
	Msg  string
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// ParseLines reads NAME=value lines, the format of both env_file and the inline env key.
// Blank lines and lines starting with "#" are ignored; the value is everything after the
// first "=", with the whitespace around name and value removed; quotes are not removed (as
// with docker --env-file). Every bad line is reported as a [*LineError], joined.
func ParseLines(text string) ([]Var, error) {
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
			errs = append(errs, &LineError{i + 1, fmt.Sprintf("%q is not NAME=value", clip(line))})
		case !ValidName(name):
			errs = append(errs, &LineError{i + 1, fmt.Sprintf("%q is not a variable name (letters, digits and _, not starting with a digit)", clip(name))})
		default:
			vars = append(vars, Var{Name: name, Value: value})
		}
	}
	if errs != nil {
		return nil, errors.Join(errs...)
	}
	return vars, nil
}

// ReadFile reads an env_file.
func ReadFile(path string) ([]Var, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	vars, err := ParseLines(strings.ReplaceAll(string(data), "\r\n", "\n"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return vars, nil
}

// clip keeps a bad line short in a message; a secret may follow the "=", so at most the
// first few characters are shown.
func clip(s string) string {
	r := []rune(s)
	if len(r) > 24 {
		return string(r[:24]) + "…"
	}
	return s
}
