package config

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// guard is written in front of every key and every value handed to ini.v1. ini.v1 gives
// meaning to text that configparser keeps literally: a value starting with `"""` or a
// backtick is quoted, a key named "-" is auto-numbered, quoted keys lose their quotes. None of
// its rules fire on a leading 0x01, and read.go removes the guard again.
const guard = "\x01"

// defaultSection is configparser's default_section: its keys appear in every other section.
const defaultSection = "DEFAULT"

// scanned is the outcome of the pre-pass: the normalised file for ini.v1 and the line of
// every section and key, which ini.v1 does not keep.
type scanned struct {
	text       []byte
	headerLine map[string]int              // section → line of its (first) header
	keyLine    map[string]map[string]int   // section → key → line
	valueLines map[string]map[string][]int // section → key → file line of each value line
}

// scan reproduces CPython's RawConfigParser._read with the default arguments
// (delimiters "=" and ":", comment prefixes "#" and ";", no inline comments, strict,
// empty_lines_in_values) line by line. It writes every section header and option line flush
// left, every continuation line (already stripped) behind one tab, blank lines inside a value
// as a lone tab, and drops comments: what remains is unambiguous for ini.v1.
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
	var out bytes.Buffer
	var (
		section     string // current section; "" before the first header
		inSection   bool
		inOption    bool   // an option is open: deeper-indented lines continue its value
		option      string // that option's key
		indentLevel int
		added       = map[string]bool{} // sections and section+"\n"+key seen (strict mode)
	)
	for i, line := range splitLines(src) {
		lineno := i + 1
		value := pyStrip(line)
		if value == "" {
			// An empty line belongs to the current value if more indented lines follow; if
			// none do, the value's final rstrip removes it (configparser does the same).
			if inOption {
				out.WriteString("\t\n")
				s.valueLines[section][option] = append(s.valueLines[section][option], lineno)
			}
			continue
		}
		if value[0] == '#' || value[0] == ';' {
			continue // a comment, even indented and even inside a multi-line value
		}
		indent := pyIndent(line)
		if inSection && inOption && indent > indentLevel {
			out.WriteString("\t" + value + "\n")
			s.valueLines[section][option] = append(s.valueLines[section][option], lineno)
			continue
		}
		indentLevel = indent
		if name, ok := sectionHeader(value); ok {
			if name != defaultSection {
				if added[name] {
					p.errorf(lineno, name, "", "duplicate section (first at line %d); merge the two or rename one", s.headerLine[name])
				}
				added[name] = true
			}
			if _, seen := s.headerLine[name]; !seen {
				s.headerLine[name] = lineno
				s.keyLine[name] = map[string]int{}
				s.valueLines[name] = map[string][]int{}
			}
			section, inSection, inOption = name, true, false
			out.WriteString("[" + name + "]\n")
			continue
		}
		if !inSection {
			p.errorf(lineno, "", "", "%q comes before the first [section] header; every key belongs to a section", value)
			continue
		}
		rawKey, val, ok := splitOption(value)
		if !ok {
			p.errorf(lineno, section, "", "%q is not a \"key = value\" line, a [section] header or a comment", value)
			continue
		}
		if rawKey == "" {
			p.errorf(lineno, section, "", "%q has no key before the delimiter", value)
			inOption = false
			continue
		}
		key := pyLower(rawKey)
		if added[section+"\n"+key] {
			p.errorf(lineno, section, key, "duplicate key (first at line %d); keys are case-insensitive", s.keyLine[section][key])
		} else {
			s.keyLine[section][key] = lineno
		}
		added[section+"\n"+key] = true
		option, inOption = key, true
		s.valueLines[section][key] = []int{lineno}
		out.WriteString(guard + key + " = " + guard + val + "\n")
	}
	s.text = out.Bytes()
	return s
}

// splitLines splits like Python's text mode with universal newlines: "\r\n", "\r" and "\n"
// all end a line. A final line terminator does not start another line.
func splitLines(src []byte) []string {
	text := strings.ReplaceAll(string(src), "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	text = strings.TrimSuffix(text, "\n")
	if text == "" {
		return nil
	}
	return strings.Split(text, "\n")
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
