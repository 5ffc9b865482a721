package config

import (
	"errors"
	"fmt"
	"strings"
)

// maxInterpolationDepth is configparser's MAX_INTERPOLATION_DEPTH; it is also how a
// reference loop ends.
const maxInterpolationDepth = 10

// template is a raw value as configparser's BasicInterpolation scans it, parsed once per
// file (a [DEFAULT] value serves every section): literal text and %(name)s references in
// order, then possibly a syntax error that ends the scan.
type template struct {
	raw    string
	plain  bool         // no "%": the value is raw itself, never scanned
	pieces []piece      // literal text and references, in order
	refs   []string     // the names referenced, each once, in order of first appearance
	bad    *syntaxError // the error that ends the scan after pieces, nil when none
}

// piece is literal text, or a reference when ref >= 0 (an index into template.refs).
type piece struct {
	text string
	ref  int
}

// syntaxError is a "%" that starts neither "%%" nor a reference. line is the line of the
// value it is on (1-based), so that a message can point at it without quoting the value,
// which may be a secret (env).
type syntaxError struct {
	msg  string
	line int
}

func (e *syntaxError) Error() string { return e.msg }

// parseTemplate follows BasicInterpolation._interpolate_some's scan: "%%" is a literal "%",
// "%(name)s" a reference (_KEYCRE, `%\(([^)]+)\)s`), any other "%" an error. Literal text is
// kept as slices of raw: parsing copies no text.
func parseTemplate(raw string) *template {
	t := &template{raw: raw, plain: !strings.Contains(raw, "%")}
	if t.plain {
		return t
	}
	index := map[string]int{}
	rest := raw
	for rest != "" {
		p := strings.IndexByte(rest, '%')
		switch {
		case p < 0:
			t.pieces = append(t.pieces, piece{text: rest, ref: -1})
			return t
		case strings.HasPrefix(rest[p:], "%%"):
			// The text before it and the first "%" are one slice of raw.
			t.pieces = append(t.pieces, piece{text: rest[:p+1], ref: -1})
			rest = rest[p+2:]
			continue
		case p > 0:
			t.pieces = append(t.pieces, piece{text: rest[:p], ref: -1})
		}
		rest = rest[p:]
		if !strings.HasPrefix(rest, "%(") {
			t.bad = &syntaxError{"a % must be followed by % or (; write %% for a literal %", lineAt(raw, rest)}
			return t
		}
		end := strings.IndexByte(rest, ')')
		if end <= 2 || !strings.HasPrefix(rest[end:], ")s") {
			t.bad = &syntaxError{"bad interpolation reference: a %( must be followed by a name and )s; write %(name)s, or %% for a literal %", lineAt(raw, rest)}
			return t
		}
		name := pyLower(rest[2:end])
		i, seen := index[name]
		if !seen {
			i = len(t.refs)
			index[name] = i
			t.refs = append(t.refs, name)
		}
		t.pieces = append(t.pieces, piece{ref: i})
		rest = rest[end+2:]
	}
	return t
}

// lineAt is the line (1-based) of raw on which its suffix rest starts.
func lineAt(raw, rest string) int {
	return 1 + strings.Count(raw[:len(raw)-len(rest)], "\n")
}

// errTooLarge ends reading when the configuration grows beyond MaxEffectiveSize.
var errTooLarge = errors.New("the configuration is too large")

// resolver interpolates the values of one section, each key once. configparser expands a key
// again at every reference to it, which is exponential in the nesting: fan-out k at depth d
// costs k^d even when every leaf is empty.
type resolver struct {
	sec    *Section
	memo   map[string]*resolved
	budget *int // what is left of MaxEffectiveSize, shared by every section of the file
}

// resolved is the outcome of interpolating one key of a section. reach is the length of the
// longest chain of values configparser enters (it enters only values containing "%") before
// it is done or meets err, this key counted: entered at depth d, the key fails with a depth
// error exactly when d-1+reach > maxInterpolationDepth. Depth is thus the only thing that
// depends on where a key is referenced from, and one outcome serves every reference.
type resolved struct {
	value string
	reach int
	err   error
	busy  bool // being resolved: meeting it again is a loop
}

// errDepth is configparser's InterpolationDepthError, which is also how it ends a loop.
var errDepth = fmt.Errorf("%%(name)s references nest deeper than %d levels; is there a loop?", maxInterpolationDepth)

// loop is what meeting a key that is still being resolved gives: configparser would go round
// until the depth limit.
var loop = &resolved{reach: maxInterpolationDepth + 1, err: errDepth}

// value returns the interpolated value of a key of the section, or configparser's error.
func (r *resolver) value(name string) (string, error) {
	t := r.sec.template(name)
	if t.plain {
		return t.raw, nil
	}
	e := r.resolve(name)
	return e.value, e.err
}

// resolve interpolates the key name, whose value contains "%", or returns its memoized
// outcome. Each name is resolved at its first reference, in the order configparser scans
// them: later references to it give the same outcome, so the first problem configparser would
// meet is the one reported.
func (r *resolver) resolve(name string) *resolved {
	if e, ok := r.memo[name]; ok {
		if e.busy {
			return loop
		}
		return e
	}
	e := &resolved{busy: true, reach: 1}
	r.memo[name] = e
	defer func() { e.busy = false }()

	t := r.sec.template(name)
	values := r.resolveRefs(e, t.refs)
	switch {
	case e.err != nil:
	case t.bad != nil:
		e.err = t.bad
	default:
		e.value, e.err = r.expand(t, values)
	}
	return e
}

// resolveRefs returns the values of the names a template references, in order, resolving
// each (and so, deepest first, what it references) and raising e.reach by the depth it
// enters. It stops at the first problem, which it sets in e.err.
func (r *resolver) resolveRefs(e *resolved, refs []string) []string {
	values := make([]string, len(refs))
	for i, ref := range refs {
		rt := r.sec.template(ref)
		switch {
		case rt == nil:
			e.err = fmt.Errorf("%%(%s)s refers to %q, which is set neither in this section nor in [DEFAULT]", ref, ref)
			return nil
		case rt.plain:
			values[i] = rt.raw // not entered: no depth
			continue
		}
		sub := r.resolve(ref)
		if e.reach = max(e.reach, 1+sub.reach); e.reach > maxInterpolationDepth {
			e.reach, e.err = maxInterpolationDepth+1, errDepth
			return nil
		}
		if sub.err != nil {
			e.err = sub.err
			return nil
		}
		values[i] = sub.value
	}
	return values
}

// expand joins a template's pieces, its references replaced by values, once the result is
// known to fit MaxValueSize and what is left of the file's budget.
func (r *resolver) expand(t *template, values []string) (string, error) {
	size, only, parts := measure(t.pieces, values)
	if size > MaxValueSize {
		return "", fmt.Errorf("the value grows beyond %d KiB through %%(name)s references", MaxValueSize>>10)
	}
	// Charged before the value is built: nothing beyond the bound is ever allocated.
	if *r.budget -= max(size, len(t.raw)); *r.budget < 0 {
		return "", errTooLarge
	}
	if parts <= 1 {
		return only, nil // "%(name)s" alone, or text with one "%%": no copy
	}
	var b strings.Builder
	b.Grow(size)
	for _, pc := range t.pieces {
		if pc.ref >= 0 {
			b.WriteString(values[pc.ref])
		} else {
			b.WriteString(pc.text)
		}
	}
	return b.String(), nil
}

// measure is the length the pieces expand to, and how many of them are non-empty; only is
// the last non-empty one, the whole value when there is just one.
func measure(pieces []piece, values []string) (size int, only string, parts int) {
	for _, pc := range pieces {
		v := pc.text
		if pc.ref >= 0 {
			v = values[pc.ref]
		}
		if v != "" {
			size += len(v)
			only = v
			parts++
		}
	}
	return size, only, parts
}
