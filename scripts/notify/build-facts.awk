# build-facts.awk — reads a build.json (as pipeline-build writes it: json.MarshalIndent, one
# key per line) and prints the facts the notification callbacks need, one per line, as
#   reason<TAB>TEXT      subject<TAB>TEXT      line<TAB>TEXT (each failed_output line)
# with JSON escapes undone and every control character replaced by "?", so that no value
# can start a new line of its own (a mail header, a field of the chat message).
function hexval(h,    i, n) {
	n = 0
	for (i = 1; i <= 4; i++) n = n * 16 + index("0123456789abcdef", tolower(substr(h, i, 1))) - 1
	return n
}
function unjson(s,    out, i, c, n) {
	out = ""
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c != "\\") { out = out c; continue }
		c = substr(s, ++i, 1)
		if (c == "u") { n = hexval(substr(s, i + 1, 4)); i += 4; out = out (n >= 32 && n < 127 ? sprintf("%c", n) : "?") }
		else if (c == "n" || c == "r" || c == "t" || c == "b" || c == "f") out = out "?"
		else out = out c
	}
	return out
}
# value is the JSON string of a line `  "key": "…",` or `    "…",`.
function value(line) {
	sub(/^[^"]*("[a-z_]+": )?"/, "", line)
	sub(/",?[ \t]*$/, "", line)
	return unjson(line)
}
/^  "reason": "/ { print "reason\t" value($0) }
/^  "subject": "/ { print "subject\t" value($0) }
/^  "failed_output": \[/ { inout = 1; next }
inout && /^  \]/ { inout = 0 }
inout { print "line\t" value($0) }
