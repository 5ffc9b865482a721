package env

import (
	"fmt"
	"strings"
)

// Expand substitutes $NAME, ${NAME} and $$ in tmpl like Python's
// string.Template(tmpl).substitute(mapping): names are ASCII identifiers, an unknown name is
// an error naming it, and a "$" followed by anything else is an invalid placeholder.
func Expand(tmpl string, lookup func(name string) (string, bool)) (string, error) {
	var b strings.Builder
	for i := 0; i < len(tmpl); {
		j := strings.IndexByte(tmpl[i:], '$')
		if j < 0 {
			b.WriteString(tmpl[i:])
			break
		}
		b.WriteString(tmpl[i : i+j])
		i += j
		name, size := placeholder(tmpl[i:])
		switch {
		case size == 0:
			line, col := position(tmpl, i)
			return "", fmt.Errorf("invalid placeholder at line %d, col %d: write $NAME, ${NAME} or $$ for a literal $", line, col)
		case name == "$":
			b.WriteByte('$')
		default:
			v, ok := lookup(name)
			if !ok {
				return "", fmt.Errorf("unknown variable $%s", name)
			}
			b.WriteString(v)
		}
		i += size
	}
	return b.String(), nil
}

// Check reports whether tmpl is a well-formed template, without substituting anything.
func Check(tmpl string) error {
	_, err := Expand(tmpl, func(string) (string, bool) { return "", true })
	return err
}

// placeholder parses the placeholder at the start of s (which starts with "$"): it returns
// the name ("$" for "$$") and the length consumed, or size 0 if it is invalid.
func placeholder(s string) (name string, size int) {
	if len(s) >= 2 && s[1] == '$' {
		return "$", 2
	}
	if len(s) >= 2 && s[1] == '{' {
		n := identLen(s[2:])
		if n > 0 && len(s) > 2+n && s[2+n] == '}' {
			return s[2 : 2+n], n + 3
		}
		return "", 0
	}
	n := identLen(s[1:])
	if n == 0 {
		return "", 0
	}
	return s[1 : 1+n], n + 1
}

// identLen is the length of the Python identifier ([_a-zA-Z][_a-zA-Z0-9]*) at the start of s.
func identLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z')
		if !letter && !(i > 0 && c >= '0' && c <= '9') {
			return i
		}
	}
	return len(s)
}

// position is the 1-based line and column of byte offset i, as Python reports them.
func position(s string, i int) (line, col int) {
	line = strings.Count(s[:i], "\n") + 1
	col = i - strings.LastIndexByte(s[:i], '\n')
	return line, col
}
