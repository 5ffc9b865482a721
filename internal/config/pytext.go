package config

import (
	"strings"
	"unicode"
)

// Python's str methods differ from Go's strings package on the edges that matter for
// byte-for-byte compatibility with configparser; these helpers follow CPython.

// pyIsSpace reports whether Python's str.isspace() is true for r. Python counts the ASCII
// information separators U+001C..U+001F as whitespace; Go's unicode.IsSpace does not.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

func pyStrip(s string) string  { return strings.TrimFunc(s, pyIsSpace) }
func pyRstrip(s string) string { return strings.TrimRightFunc(s, pyIsSpace) }

// pyIndent is the index, in code points, of the first non-space character of line (the
// match of configparser's NONSPACECRE), or 0 for a line of spaces only.
func pyIndent(line string) int {
	n := 0
	for _, r := range line {
		if !pyIsSpace(r) {
			return n
		}
		n++
	}
	return 0
}

// pyLower is Python's str.lower(), configparser's optionxform. It differs from
// strings.ToLower in the full case mappings Python applies: U+0130 becomes "i̇" (two code
// points) and a final capital sigma becomes "ς".
func pyLower(s string) string {
	if isLowerASCII(s) {
		return s // the common case, without a copy
	}
	runes := []rune(s)
	var b strings.Builder
	for i, r := range runes {
		switch r {
		case 'İ':
			b.WriteString("i\u0307")
		case 'Σ':
			if finalSigma(runes, i) {
				b.WriteRune('ς')
			} else {
				b.WriteRune('σ')
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma applies Unicode's Final_Sigma condition as CPython does: a cased letter comes
// before position i and none comes after it, skipping case-ignorable characters both ways.
func finalSigma(runes []rune, i int) bool {
	cased := func(r rune) bool { return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) }
	ignorable := func(r rune) bool {
		return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk) ||
			strings.ContainsRune("'.:·\u2019", r)
	}
	before := false
	for j := i - 1; j >= 0; j-- {
		if !ignorable(runes[j]) {
			before = cased(runes[j])
			break
		}
	}
	if !before {
		return false
	}
	for j := i + 1; j < len(runes); j++ {
		if !ignorable(runes[j]) {
			return !cased(runes[j])
		}
	}
	return true
}

// pyBool is ConfigParser.getboolean: exactly 1/yes/true/on and 0/no/false/off, in any case.
func pyBool(s string) (bool, bool) {
	switch pyLower(s) {
	case "1", "yes", "true", "on":
		return true, true
	case "0", "no", "false", "off":
		return false, true
	}
	return false, false
}

// pyInt is ConfigParser.getint, that is Python's int(): base 10 only (so "010" is 10, and
// "0x10" is refused), surrounding whitespace and one sign allowed, single underscores
// between digits, and any Unicode decimal digit.
func pyInt(s string) (int64, bool) {
	s = pyStrip(s)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	var n int64
	prevDigit := false
	for _, r := range s {
		if r == '_' {
			if !prevDigit {
				return 0, false
			}
			prevDigit = false
			continue
		}
		d, ok := digitValue(r)
		if !ok {
			return 0, false
		}
		if n > (1<<62)/10 {
			return 0, false // far beyond any setting; refuse rather than overflow
		}
		n = n*10 + int64(d)
		prevDigit = true
	}
	if !prevDigit {
		return 0, false // trailing underscore
	}
	if neg {
		n = -n
	}
	return n, true
}

// digitValue returns the value of a Unicode decimal digit (category Nd). Unicode guarantees
// that Nd characters come in contiguous runs from zero to nine, so the value is the distance
// from the start of the run, modulo ten for adjacent runs such as the mathematical digits.
func digitValue(r rune) (int, bool) {
	if r >= '0' && r <= '9' {
		return int(r - '0'), true
	}
	if !unicode.IsDigit(r) {
		return 0, false
	}
	start := r
	for unicode.IsDigit(start - 1) {
		start--
	}
	return int(r-start) % 10, true
}

// isLowerASCII reports whether s is ASCII without capital letters, which pyLower leaves as it is.
func isLowerASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || (c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
