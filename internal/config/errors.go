package config

import (
	"fmt"
	"strings"

	"pipelined/internal/exitcode"
)

// Error is one problem found in the configuration file. Loading collects all of them and
// returns them joined (errors.Join), so that an operator sees every mistake at once.
type Error struct {
	File    string // path of the configuration file
	Line    int    // 1-based line, 0 when the problem has no single line
	Section string // section (project) name, "" when outside any section
	Key     string // lower-cased key, "" for section- or file-level problems
	Msg     string // what is wrong and, where it helps, what to write instead
}

// ExitCode is the exit status of a command that cannot start with this file: a usage error
// (package exitcode).
func (e *Error) ExitCode() int { return exitcode.Usage }

// Error formats the problem as "FILE:LINE: [SECTION] KEY: MSG", leaving out what is unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Section != "" {
		fmt.Fprintf(&b, "[%s] ", e.Section)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, "%s: ", e.Key)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// problems collects errors and warnings while a file is read.
type problems struct {
	file     string
	base     string // the directory relative env_file paths are relative to
	errs     []*Error
	warnings []*Error
}

func (p *problems) errorf(line int, section, key, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Section: section, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) warnf(line int, section, key, format string, args ...any) {
	p.warnings = append(p.warnings, &Error{File: p.file, Line: line, Section: section, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// Problems returns the problems joined in an error of [Load] or [Parse], each an [*Error],
// or err alone when it joins nothing; nil gives none. Callers use it to show each problem on
// a line of its own.
func Problems(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
