package config

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"
	"unicode"

	"pipelined/internal/env"
	"pipelined/internal/shellwords"
)

// This file turns the text of one key into its field of Project (decode), each type of
// field by a function of its own.

// valueProblem is a problem with a value; valueLine is the line within the value (1-based)
// when the problem is on one of several lines, else 0.
type valueProblem struct {
	valueLine int
	msg       string
	warning   bool
}

func problem(format string, args ...any) []valueProblem {
	return []valueProblem{{msg: fmt.Sprintf(format, args...)}}
}

// continued explains a value that spans lines when it should not: the usual cause is an
// indented line below the key, which configparser reads as part of its value.
const continued = "the value spans several lines (an indented line continues the key above it)"

// decode parses text into the field of k and returns the effective value: the canonical
// text Dump writes, which reads back to the same setting. Text and regex values are single
// lines without surrounding whitespace (only a %(name)s reference to an empty value could
// add some); env and commands are written from what was parsed.
func decode(k Key, text string, proj *Project, shared *decoded) (string, []valueProblem) {
	switch f := k.field(proj).(type) {
	case *bool:
		return decodeBool(text, f)
	case *int:
		return decodePercent(text, f)
	case *Count:
		return decodeCount(text, f)
	case *time.Duration:
		return decodeSeconds(text, f)
	case **regexp.Regexp:
		return decodeRefPattern(text, f, shared)
	case *[]env.Var:
		return decodeEnv(text, f)
	case *[]string:
		return decodeCommand(text, f)
	case *string:
		return decodeText(k.Name, text, f)
	}
	panic("config: key " + k.Name + " has a field of an unknown type")
}

func decodeBool(text string, f *bool) (string, []valueProblem) {
	b, ok := pyBool(text)
	if !ok {
		return text, problem("%q is not a boolean; use True or False (also yes/no, on/off, 1/0)", text)
	}
	*f = b
	return pyBoolText(b), nil
}

func decodePercent(text string, f *int) (string, []valueProblem) {
	n, ok := pyInt(text)
	if !ok || n < 0 || n > 100 {
		return text, problem("%q is not a percentage; use a whole number from 0 to 100", text)
	}
	*f = int(n)
	return fmt.Sprint(n), nil
}

// decodeCount reads a Count; empty text is 0, no limit.
func decodeCount(text string, f *Count) (string, []valueProblem) {
	if pyStrip(text) == "" {
		return "", nil
	}
	n, ok := pyInt(text)
	if !ok || n < 1 || n > maxCount {
		return text, problem("%q is not a count; use a whole number of at least 1, or leave it empty for no limit", text)
	}
	*f = Count(n)
	return fmt.Sprint(n), nil
}

// decodeSeconds reads a whole number of seconds; empty text is 0, no limit.
func decodeSeconds(text string, f *time.Duration) (string, []valueProblem) {
	if pyStrip(text) == "" {
		return "", nil
	}
	n, ok := pyInt(text)
	if !ok || n < 1 || n > 1<<31 {
		return text, problem("%q is not a number of seconds; use a whole number of at least 1, or leave it empty for no limit", text)
	}
	*f = time.Duration(n) * time.Second
	return fmt.Sprint(n), nil
}

// decodeRefPattern compiles a branches/tags regex, once per file (shared); empty text is
// nil, no ref.
func decodeRefPattern(text string, f **regexp.Regexp, shared *decoded) (string, []valueProblem) {
	text = pyStrip(text)
	if text == "" {
		return "", nil
	}
	if strings.Contains(text, "\n") {
		return text, problem("%s, and a ref name never contains a newline", continued)
	}
	re, msg := shared.regexp(text)
	if msg != "" {
		return text, problem("%s", msg)
	}
	*f = re
	return text, nil
}

// decodeEnv reads NAME=value lines, reporting each bad line at its own line of the value
// while keeping the good ones.
func decodeEnv(text string, f *[]env.Var) (string, []valueProblem) {
	vars, err := env.ParseLines(text)
	var problems []valueProblem
	for _, e := range Problems(err) {
		var le *env.LineError
		if errors.As(e, &le) {
			problems = append(problems, valueProblem{valueLine: le.Line, msg: le.Msg + "; write one NAME=value per line"})
		}
	}
	*f = vars
	lines := make([]string, len(vars))
	for i, v := range vars {
		lines[i] = v.Name + "=" + v.Value
	}
	return strings.Join(lines, "\n"), problems
}

// decodeCommand splits a callback's command line into its argument vector.
func decodeCommand(text string, f *[]string) (string, []valueProblem) {
	words, err := shellwords.Split(text)
	if err != nil {
		return text, problem("%v in the command line", err)
	}
	for _, w := range words {
		if strings.Contains(w, "\n") {
			return text, problem("an argument contains a newline; quote arguments within one line")
		}
	}
	*f = words
	return shellwords.Join(words), nil
}

// decodeText reads a one-line text key, checked by the rules of its own key (checkText).
func decodeText(key, text string, f *string) (string, []valueProblem) {
	text = pyStrip(text)
	*f = text
	if strings.Contains(text, "\n") {
		return text, problem("%s", continued)
	}
	if msg := checkText(key, text, f); msg != "" {
		return text, problem("%s", msg)
	}
	return *f, nil
}

// checkText validates the text keys that have rules of their own.
func checkText(key, text string, field *string) string {
	switch key {
	case "remote":
		if strings.HasPrefix(text, "-") {
			return fmt.Sprintf("%q looks like an option, not a git remote", text)
		}
	case "dockerfile":
		clean := path.Clean(text)
		if text == "" || path.IsAbs(text) || clean == ".." || strings.HasPrefix(clean, "../") {
			return fmt.Sprintf("%q must be a path inside the checkout, relative to it", text)
		}
		*field = clean
	case "engines":
		for _, name := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
			if !validEngineName.MatchString(name) {
				return fmt.Sprintf("%q is not an engine name: lower-case letters, digits, '.', '_' and '-', as in pipelined --engine NAME=DOCKER_HOST", name)
			}
		}
	case "commit_url":
		return checkCommitURL(text)
	case "tag", "label", "rsync.destination":
		if err := env.Check(text); err != nil {
			return err.Error()
		}
	}
	return ""
}

// decoded holds, while a file loads, what its sections share once decoded: a compiled
// regex is a few kilobytes, and safe to share.
type decoded struct {
	regexps map[string]compiled
}

type compiled struct {
	re  *regexp.Regexp
	msg string
}

func newDecoded() *decoded { return &decoded{regexps: map[string]compiled{}} }

// regexp compiles a ref pattern once per file.
func (d *decoded) regexp(text string) (*regexp.Regexp, string) {
	c, ok := d.regexps[text]
	if !ok {
		c.re, c.msg = compileRefPattern(text)
		d.regexps[text] = c
	}
	return c.re, c.msg
}

// compileRefPattern compiles a branches/tags regex so that it must match a whole ref name,
// as Python's re.fullmatch does, and explains the Python features RE2 does not have.
func compileRefPattern(text string) (*regexp.Regexp, string) {
	re, err := regexp.Compile(`^(?:` + text + `)$`)
	switch {
	case err == nil:
		return re, ""
	case lookaround.MatchString(text):
		return nil, fmt.Sprintf("%q uses lookahead or lookbehind, which Python's re has but Go's RE2 syntax does not; rewrite it without (?=, (?!, (?<= or (?<!", text)
	case backref.MatchString(text):
		return nil, fmt.Sprintf("%q uses a backreference, which Python's re has but Go's RE2 syntax does not; rewrite it without \\1 or (?P=name)", text)
	default:
		if _, rawErr := regexp.Compile(text); rawErr != nil {
			err = rawErr // the message then shows the pattern as written
		}
		return nil, fmt.Sprintf("not a valid Go (RE2) regular expression: %v", err)
	}
}

var (
	lookaround = regexp.MustCompile(`\(\?(=|!|<=|<!)`)
	backref    = regexp.MustCompile(`\\[1-9]|\(\?P=`)
)

func pyBoolText(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
