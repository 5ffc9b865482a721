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

	// own and def are the section's own keys and DEFAULT's, as written. An inherited key is
	// looked up in def rather than copied: 1,600 sections inheriting 2,000 keys would
	// otherwise hold 3.2 million copies of their lines and templates.
	own, def *rawSection
}

// rawSection is one section of the file before [DEFAULT] is merged into it.
type rawSection struct {
	templates  map[string]*template // key → its parsed raw value
	keyLine    map[string]int       // key → line where its value was written
	valueLines map[string][]int     // key → file line of each line of its raw value
}

// raw returns the section of the file that key's value comes from: the section itself, or
// DEFAULT when the key is inherited.
func (s *Section) raw(key string) *rawSection {
	if _, ok := s.own.templates[key]; ok || s.def == nil {
		return s.own
	}
	return s.def
}

// template returns key's parsed raw value, or nil if the section has no such key.
func (s *Section) template(key string) *template { return s.raw(key).templates[key] }

// shared reports whether key is inherited from DEFAULT.
func (s *Section) shared(key string) bool { return s.raw(key) != s.own }

// KeyLine returns the line where key's value was written, in this section or in DEFAULT.
func (s *Section) KeyLine(key string) int { return s.raw(key).keyLine[key] }

// ValueLine returns the file line of line i (1-based) of key's value, or the key's own line
// when that is not known (the value came from a %(name)s reference).
func (s *Section) ValueLine(key string, i int) int {
	if lines := s.raw(key).valueLines[key]; i >= 1 && i <= len(lines) {
		return lines[i-1]
	}
	return s.KeyLine(key)
}

// where is appended to a message about key, so that a value inherited from DEFAULT is
// looked for in the right place.
func (s *Section) where(key string) string {
	if s.shared(key) {
		return " (inherited from [DEFAULT])"
	}
	return ""
}

// iniOptions are the gopkg.in/ini.v1 settings for the normalised text that scan writes.
// Each field says which configparser rule it keeps; everything else stays at ini.v1's
// defaults, in particular Insensitive, InsensitiveSections, AllowNonUniqueSections,
// AllowBooleanKeys, SkipUnrecognizableLines and Loose, each of which would accept or merge
// input that configparser refuses.
func iniOptions() ini.LoadOptions {
	return ini.LoadOptions{
		// configparser has no inline comments: "a = x ; y" is "x ; y".
		IgnoreInlineComment: true,
		// A trailing backslash is literal text in configparser, not a continuation.
		IgnoreContinuation: true,
		// Quotes are literal in configparser: `"x"` keeps its quotes.
		PreserveSurroundedQuote: true,
		// "[a.b]" is unrelated to "[a]" in configparser; no header can contain a newline.
		ChildSectionDelimiter: "\n",
		// AllowPythonMultilineValues stays false: scan writes every value on one line.
	}
}

// readDocument parses src. Problems go to p; the Document is nil if there were errors.
func readDocument(src []byte, p *problems) *Document {
	s := scan(src, p)
	if len(p.errs) > 0 {
		return nil
	}
	f, err := ini.LoadSources(iniOptions(), s.text)
	if err != nil {
		// scan only writes text ini.v1 accepts; reaching this is a bug in scan.
		p.errorf(0, "", "", "internal error reading the normalised file: %v", err)
		return nil
	}
	raw, order, names := rawValues(f, s)
	doc := &Document{referenced: map[string]bool{}}
	sections := doc.parseTemplates(raw, s)
	budget := s.budget // what the keys of the file left
	for _, name := range names {
		own := sections[name]
		sec := &Section{Name: name, Line: s.headerLine[name], own: own, def: sections[defaultSection],
			Keys: sectionKeys(own, order[name], order[defaultSection])}
		// Charged before anything is interpolated.
		if budget -= sec.cost(); budget < 0 {
			p.errorf(sec.Line, name, "", "%s", tooLarge())
			return nil
		}
		if !sec.interpolate(p, &budget) {
			return nil
		}
		doc.Sections = append(doc.Sections, sec)
	}
	if len(p.errs) > 0 {
		return nil
	}
	return doc
}

// rawValues is what ini.v1 read, the guards off: each section's raw values and the order
// of its keys, and the names of the sections but DEFAULT in file order.
func rawValues(f *ini.File, s *scanned) (raw map[string]map[string]string, order map[string][]string, names []string) {
	raw = map[string]map[string]string{}
	order = map[string][]string{}
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
	return raw, order, names
}

// parseTemplates parses every raw value once, so that a [DEFAULT] value's template serves
// every section, and records the names the values reference in doc.referenced.
func (doc *Document) parseTemplates(raw map[string]map[string]string, s *scanned) map[string]*rawSection {
	sections := map[string]*rawSection{}
	for name, keys := range raw {
		rs := &rawSection{templates: map[string]*template{}, keyLine: s.keyLine[name], valueLines: s.valueLines[name]}
		for key, v := range keys {
			t := parseTemplate(v)
			rs.templates[key] = t
			// A referenced unknown key is a helper, not a typo. Every value is interpolated in
			// every section that has it, so these are all the names configparser looks up.
			for _, ref := range t.refs {
				doc.referenced[ref] = true
			}
		}
		sections[name] = rs
	}
	return sections
}

// sectionKeys is configparser's view of a section's keys: its own, then DEFAULT's it does
// not override.
func sectionKeys(own *rawSection, ownKeys, defKeys []string) []string {
	keys := append(make([]string, 0, len(ownKeys)+len(defKeys)), ownKeys...)
	for _, key := range defKeys {
		if _, mine := own.templates[key]; !mine {
			keys = append(keys, key)
		}
	}
	return keys
}

// cost is what a section counts towards MaxEffectiveSize before its values are
// interpolated. A value without "%" is shared with the file's text but counted, as each
// section decodes it and Dump writes it.
func (s *Section) cost() int {
	c := sectionCost + keyCost*len(s.Keys)
	for _, key := range s.Keys {
		if t := s.template(key); t.plain {
			c += len(t.raw)
		}
	}
	return c
}

// interpolate sets the section's Values, reporting the problem of each key that has one. It
// returns false when the configuration grows beyond MaxEffectiveSize, which ends reading.
func (s *Section) interpolate(p *problems, budget *int) bool {
	s.Values = make(map[string]string, len(s.Keys))
	r := &resolver{sec: s, memo: map[string]*resolved{}, budget: budget}
	for _, key := range s.Keys {
		v, err := r.value(key)
		if err == errTooLarge {
			p.errorf(s.Line, s.Name, "", "%s", tooLarge())
			return false
		}
		if err != nil {
			line := s.KeyLine(key)
			if t := s.template(key); t.bad != nil && err == error(t.bad) {
				line = s.ValueLine(key, t.bad.line) // the key's own value is wrong there
			}
			p.errorf(line, s.Name, key, "%v%s", err, s.where(key))
			continue
		}
		s.Values[key] = v
	}
	return true
}

// unguardValue turns ini.v1's value back into configparser's: the guard comes off and the
// escaped line breaks of scan's writeEscaped are restored; then, as in configparser's
// _join_multiline_values, trailing whitespace (including empty lines that no continuation
// line followed) is removed.
func unguardValue(v string) string {
	v = strings.TrimPrefix(v, guard)
	if strings.IndexByte(v, escape) < 0 {
		return pyRstrip(v) // no line break: no copy
	}
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == escape && i+1 < len(v) {
			i++
			if v[i] == 'n' {
				b.WriteByte('\n')
				continue
			}
		}
		b.WriteByte(v[i])
	}
	return pyRstrip(b.String())
}
