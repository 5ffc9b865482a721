package config

import (
	"strings"

	"gopkg.in/ini.v1"
)

// Document is the configuration file as configparser reads it: every section except
// DEFAULT in file order, each with its own keys followed by the DEFAULT keys it does not
// override, every value interpolated in that section's context.
type Document struct {
	File     string
	Sections []*Section

	// referenced holds every key named in a %(name)s reference: an unknown key that is
	// referenced is a helper, not a typo.
	referenced map[string]bool
}

// Section is one section of a [Document].
type Section struct {
	Name   string
	Line   int               // line of the section header
	Keys   []string          // own keys in file order, then inherited DEFAULT keys
	Values map[string]string // key → interpolated value
	lines  map[string]int    // key → line where its value was written (maybe in DEFAULT)
	vlines map[string][]int  // key → file line of each line of its raw value
	shared map[string]bool   // keys inherited from DEFAULT
}

// KeyLine returns the line where key's value was written, in this section or in DEFAULT.
func (s *Section) KeyLine(key string) int { return s.lines[key] }

// ValueLine returns the file line of line i (1-based) of key's value, or the key's own line
// when that is not known (the value came from a %(name)s reference).
func (s *Section) ValueLine(key string, i int) int {
	if lines := s.vlines[key]; i >= 1 && i <= len(lines) {
		return lines[i-1]
	}
	return s.lines[key]
}

// where is appended to a message about key, so that a value inherited from DEFAULT is
// looked for in the right place.
func (s *Section) where(key string) string {
	if s.shared[key] {
		return " (inherited from [DEFAULT])"
	}
	return ""
}

// iniOptions are the gopkg.in/ini.v1 settings for the normalised text that scan writes.
// Each field says which configparser rule it keeps; everything else stays at ini.v1's
// defaults, in particular Insensitive, InsensitiveSections, AllowNonUniqueSections,
// AllowBooleanKeys, SkipUnrecognizableLines and Loose, each of which would accept or merge
// input that configparser refuses.
func iniOptions(size int) ini.LoadOptions {
	return ini.LoadOptions{
		// configparser has no inline comments: "a = x ; y" is "x ; y".
		IgnoreInlineComment: true,
		// A trailing backslash is literal text in configparser, not a continuation.
		IgnoreContinuation: true,
		// Indented lines continue a value; scan has already chosen which ones do.
		AllowPythonMultilineValues: true,
		// Quotes are literal in configparser: `"x"` keeps its quotes.
		PreserveSurroundedQuote: true,
		// "[a.b]" is unrelated to "[a]" in configparser; no header can contain a newline.
		ChildSectionDelimiter: "\n",
		// ini.v1 looks ahead for continuation lines only within its read buffer; values
		// longer than the default 4 KiB would fail, so the buffer holds the whole file.
		ReaderBufferSize: size + 1,
	}
}

// readDocument parses src. Problems go to p; the Document is nil if there were errors.
func readDocument(src []byte, p *problems) *Document {
	s := scan(src, p)
	if len(p.errs) > 0 {
		return nil
	}
	f, err := ini.LoadSources(iniOptions(len(s.text)), s.text)
	if err != nil {
		// scan only writes text ini.v1 accepts; reaching this is a bug in scan.
		p.errorf(0, "", "", "internal error reading the normalised file: %v", err)
		return nil
	}
	raw := map[string]map[string]string{}
	order := map[string][]string{}
	var names []string
	for _, sec := range f.Sections() {
		name := sec.Name()
		if _, ok := s.headerLine[name]; !ok {
			continue // ini.v1's implicit DEFAULT when the file has no [DEFAULT] of its own
		}
		if name != defaultSection {
			names = append(names, name)
		}
		raw[name] = map[string]string{}
		for _, k := range sec.Keys() {
			key := strings.TrimPrefix(k.Name(), guard)
			raw[name][key] = unguardValue(k.Value())
			order[name] = append(order[name], key)
		}
	}
	doc := &Document{referenced: map[string]bool{}}
	for _, name := range names {
		sec := &Section{Name: name, Line: s.headerLine[name], Values: map[string]string{}, lines: map[string]int{}, vlines: map[string][]int{}, shared: map[string]bool{}}
		// configparser's view of a section: its own keys, then DEFAULT's it does not override.
		vars := map[string]string{}
		for _, key := range order[name] {
			sec.Keys = append(sec.Keys, key)
			vars[key] = raw[name][key]
			sec.lines[key] = s.keyLine[name][key]
			sec.vlines[key] = s.valueLines[name][key]
		}
		for _, key := range order[defaultSection] {
			if _, own := vars[key]; own {
				continue
			}
			sec.Keys = append(sec.Keys, key)
			vars[key] = raw[defaultSection][key]
			sec.lines[key] = s.keyLine[defaultSection][key]
			sec.vlines[key] = s.valueLines[defaultSection][key]
			sec.shared[key] = true
		}
		for _, key := range sec.Keys {
			v, err := interpolate(vars[key], vars, doc.referenced)
			if err != nil {
				p.errorf(sec.lines[key], name, key, "%v%s", err, sec.where(key))
				continue
			}
			sec.Values[key] = v
		}
		doc.Sections = append(doc.Sections, sec)
	}
	if len(p.errs) > 0 {
		return nil
	}
	return doc
}

// unguardValue turns ini.v1's value back into configparser's: the guard comes off the first
// line and the tab that scan put in front of each continuation line comes off the others;
// then, as in configparser's _join_multiline_values, trailing whitespace (including empty
// lines that no continuation line followed) is removed.
func unguardValue(v string) string {
	lines := strings.Split(v, "\n")
	lines[0] = strings.TrimPrefix(lines[0], guard)
	for i := 1; i < len(lines); i++ {
		lines[i] = strings.TrimPrefix(lines[i], "\t")
	}
	return pyRstrip(strings.Join(lines, "\n"))
}
