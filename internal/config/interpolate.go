package config

import (
	"fmt"
	"regexp"
	"strings"
)

// maxInterpolationDepth is configparser's MAX_INTERPOLATION_DEPTH; it is also how a
// reference loop ends.
const maxInterpolationDepth = 10

// maxInterpolated bounds an interpolated value. Without it a few lines of nested references
// ("a = %(b)s%(b)s…" ten levels deep) expand to gigabytes; configparser would try.
const maxInterpolated = 1 << 20

// keyRef is configparser's BasicInterpolation._KEYCRE.
var keyRef = regexp.MustCompile(`^%\(([^)]+)\)s`)

// interpolate is configparser's BasicInterpolation.before_get: "%%" is a literal "%",
// "%(name)s" is the raw value of name in vars (the section's own keys and DEFAULT's),
// expanded the same way, and any other "%" is an error. Every name referenced is added to
// referenced.
func interpolate(value string, vars map[string]string, referenced map[string]bool) (string, error) {
	var b strings.Builder
	if err := interpolateInto(&b, value, vars, referenced, 1); err != nil {
		return "", err
	}
	return b.String(), nil
}

func interpolateInto(b *strings.Builder, rest string, vars map[string]string, referenced map[string]bool, depth int) error {
	if depth > maxInterpolationDepth {
		return fmt.Errorf("%%(name)s references nest deeper than %d levels; is there a loop?", maxInterpolationDepth)
	}
	for rest != "" {
		if b.Len() > maxInterpolated {
			return fmt.Errorf("the value grows beyond %d KiB through %%(name)s references", maxInterpolated>>10)
		}
		p := strings.IndexByte(rest, '%')
		if p < 0 {
			b.WriteString(rest)
			return nil
		}
		b.WriteString(rest[:p])
		rest = rest[p:]
		switch {
		case strings.HasPrefix(rest, "%%"):
			b.WriteByte('%')
			rest = rest[2:]
		case strings.HasPrefix(rest, "%("):
			m := keyRef.FindStringSubmatch(rest)
			if m == nil {
				return fmt.Errorf("bad interpolation reference %q; write %%(name)s, or %%%% for a literal %%", clip(rest))
			}
			name := pyLower(m[1])
			referenced[name] = true
			rest = rest[len(m[0]):]
			v, ok := vars[name]
			if !ok {
				return fmt.Errorf("%%(%s)s refers to %q, which is set neither in this section nor in [DEFAULT]", m[1], name)
			}
			if strings.Contains(v, "%") {
				if err := interpolateInto(b, v, vars, referenced, depth+1); err != nil {
					return err
				}
			} else {
				b.WriteString(v)
			}
		default:
			return fmt.Errorf("a %% must be followed by %% or (, found %q; write %%%% for a literal %%", clip(rest))
		}
	}
	return nil
}

// clip shortens text quoted in a message.
func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
