package config

import (
	"bytes"
	"iter"
	"strings"
	"unicode/utf8"
)

// guard is written in front of every key and every value handed to ini.v1. ini.v1 gives
// meaning to text that configparser keeps literally: a value starting with `"""` or a
// backtick is quoted, a key named "-" is auto-numbered, quoted keys lose their quotes. None of
// its rules fire on a leading 0x01, and read.go removes the guard again.
const guard = "\x01"

// A multi-line value is handed to ini.v1 as one line, with each line break written as
// escape+"n" and each escape byte doubled (read.go's unguardValue undoes both). ini.v1's own
// continuation lines would do, but it looks for them by peeking at its whole read buffer at
// every value, and the buffer has to hold the longest value: reading took time quadratic in
// the file's size (6 s for a file of 3 MB).
const escape = '\x02'

// writeEscaped writes value text for ini.v1: line breaks and escape bytes escaped.
func writeEscaped(out *bytes.Buffer, text string) {
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '\n':
			out.WriteByte(escape)
			out.WriteByte('n')
		case escape:
			out.WriteByte(escape)
			out.WriteByte(escape)
		default:
			out.WriteByte(text[i])
		}
	}
}

// defaultSection is configparser's default_section: its keys appear in every other section.
const defaultSection = "DEFAULT"

// scanned is the outcome of the pre-pass: the normalised file for ini.v1 and the line of
// every section and key, which ini.v1 does not keep.
type scanned struct {
	text       []byte
	headerLine map[string]int              // section → line of its (first) header
	keyLine    map[string]map[string]int   // section → key → line
	valueLines map[string]map[string][]int // section → key → file line of each value line
	budget     int                         // what is left of MaxEffectiveSize after the keys of the file
}

// scan reproduces CPython's RawConfigParser._read with the default arguments
// (delimiters "=" and ":", comment prefixes "#" and ";", no inline comments, strict,
// empty_lines_in_values) line by line. It writes every section header and option line flush
// left, every continuation line (already stripped) and blank line inside a value onto the
// line of its key, escaped (see escape), and drops comments: what remains is unambiguous for
// ini.v1. Every line of the output starts with "\n", so that a value can be continued.
func scan(src []byte, p *problems) *scanned {
	s := &scanned{headerLine: map[string]int{}, keyLine: map[string]map[string]int{}, valueLines: map[string]map[string][]int{}}
	if !utf8.Valid(src) {
		p.errorf(firstInvalidLine(src), "", "", "the file is not valid UTF-8; save it as UTF-8")
		return s
	}
	if bytes.HasPrefix(src, []byte("\uFEFF")) {
		// Python reads the mark as a character and then finds no section header.
		p.errorf(1, "", "", "the file starts with a byte order mark; save it as UTF-8 without BOM")
		return s
	}
	// Every key and header of the file counts fileKeyCost towards MaxEffectiveSize (read.go
	// counts the rest): a file with too many is refused here, before ini.v1 and read.go hold
	// them.
	s.budget = MaxEffectiveSize
	sc := &scanner{s: s, p: p, added: map[string]bool{}}
	for i, line := range splitLines(src) {
		if !sc.line(i+1, line) {
			return s
		}
	}
	sc.out.WriteByte('\n')
	s.text = sc.out.Bytes()
	return s
}

// scanner is what scan knows between one line and the next.
type scanner struct {
	s   *scanned
	p   *problems
	out bytes.Buffer

	section     string // current section; "" before the first header
	inSection   bool
	inOption    bool   // an option is open: deeper-indented lines continue its value
	option      string // that option's key
	indentLevel int
	added       map[string]bool // sections and section+"\n"+key seen (strict mode)
}

// line scans one line of the file. It returns false when the file has grown beyond
// MaxEffectiveSize, which ends the scan.
func (sc *scanner) line(lineno int, line string) bool {
	value := pyStrip(line)
	if value == "" {
		// An empty line belongs to the current value if more indented lines follow; if
		// none do, the value's final rstrip removes it (configparser does the same).
		if sc.inOption {
			sc.continueValue(lineno, "\n")
		}
		return true
	}
	if value[0] == '#' || value[0] == ';' {
		return true // a comment, even indented and even inside a multi-line value
	}
	indent := pyIndent(line)
	if sc.inSection && sc.inOption && indent > sc.indentLevel {
		sc.continueValue(lineno, "\n"+value)
		return true
	}
	sc.indentLevel = indent
	if name, ok := sectionHeader(value); ok {
		return sc.startSection(lineno, name)
	}
	if !sc.inSection {
		sc.p.errorf(lineno, "", "", "%q comes before the first [section] header; every key belongs to a section", value)
		return true
	}
	return sc.startOption(lineno, value)
}

// continueValue appends text, which starts with a line break, to the open option's value.
func (sc *scanner) continueValue(lineno int, text string) {
	writeEscaped(&sc.out, text)
	sc.s.valueLines[sc.section][sc.option] = append(sc.s.valueLines[sc.section][sc.option], lineno)
}

// startSection handles the header of section name; a repeated [DEFAULT] adds to the first.
func (sc *scanner) startSection(lineno int, name string) bool {
	s := sc.s
	if name != defaultSection {
		if sc.added[name] {
			sc.p.errorf(lineno, name, "", "duplicate section (first at line %d); merge the two or rename one", s.headerLine[name])
		}
		sc.added[name] = true
	}
	if _, seen := s.headerLine[name]; !seen {
		s.headerLine[name] = lineno
		s.keyLine[name] = map[string]int{}
		s.valueLines[name] = map[string][]int{}
	}
	sc.section, sc.inSection, sc.inOption = name, true, false
	sc.out.WriteString("\n[" + name + "]")
	return sc.charge(lineno, "")
}

// startOption handles a "key = value" line, the first line of the option's value.
func (sc *scanner) startOption(lineno int, value string) bool {
	s := sc.s
	rawKey, val, ok := splitOption(value)
	if !ok {
		sc.p.errorf(lineno, sc.section, "", "%q is not a \"key = value\" line, a [section] header or a comment", value)
		return true
	}
	if rawKey == "" {
		sc.p.errorf(lineno, sc.section, "", "%q has no key before the delimiter", value)
		sc.inOption = false
		return true
	}
	key := pyLower(rawKey)
	if sc.added[sc.section+"\n"+key] {
		sc.p.errorf(lineno, sc.section, key, "duplicate key (first at line %d); keys are case-insensitive", s.keyLine[sc.section][key])
	} else {
		s.keyLine[sc.section][key] = lineno
	}
	sc.added[sc.section+"\n"+key] = true
	sc.option, sc.inOption = key, true
	s.valueLines[sc.section][key] = []int{lineno}
	sc.out.WriteString("\n" + guard + key + " = " + guard)
	writeEscaped(&sc.out, val)
	return sc.charge(lineno, key)
}

// charge counts a header or key (key "") written on lineno towards MaxEffectiveSize; false,
// with the problem reported, when that is spent.
func (sc *scanner) charge(lineno int, key string) bool {
	if sc.s.budget -= fileKeyCost; sc.s.budget < 0 {
		sc.p.errorf(lineno, sc.section, key, "%s", tooLarge())
		return false
	}
	return true
}

// splitLines yields the lines of src as Python's text mode with universal newlines reads
// them: "\r\n", "\r" and "\n" all end a line, and a final line terminator does not start
// another line. Lines are yielded one by one, as slices of one copy of src: a slice of every
// line would cost 16 bytes a line, 22 MiB for a file of 4 MiB of short lines.
func splitLines(src []byte) iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		text := string(src)
		for i := 0; text != ""; i++ {
			end := strings.IndexAny(text, "\r\n")
			if end < 0 {
				yield(i, text)
				return
			}
			next := end + 1
			if text[end] == '\r' && strings.HasPrefix(text[next:], "\n") {
				next++
			}
			if !yield(i, text[:end]) {
				return
			}
			text = text[next:]
		}
	}
}

// sectionHeader matches configparser's SECTCRE, `\[(?P<header>.+)\]`, against a stripped
// line: the name runs to the last "]", and anything after that is ignored.
func sectionHeader(value string) (string, bool) {
	end := strings.LastIndexByte(value, ']')
	if value[0] != '[' || end < 2 {
		return "", false
	}
	return value[1:end], true
}

// splitOption matches configparser's OPTCRE against a stripped line: the key runs to the
// first "=" or ":", both sides are stripped.
func splitOption(value string) (key, val string, ok bool) {
	i := strings.IndexAny(value, "=:")
	if i < 0 {
		return "", "", false
	}
	return pyRstrip(value[:i]), pyStrip(value[i+1:]), true
}

func firstInvalidLine(src []byte) int {
	line := 1
	for len(src) > 0 {
		r, size := utf8.DecodeRune(src)
		if r == utf8.RuneError && size == 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		src = src[size:]
	}
	return line
}
