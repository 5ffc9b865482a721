package config

import (
	"fmt"
	"regexp"
	"strings"

	"pipelined/internal/env"
)

// Warnings for likely mistakes: a file that loads, but probably does not say what its author
// meant. They never stop a file from loading (configparser would read it the same way); they
// are shown wherever the file is loaded (the daemon's log, --dump-config, pipeline-watch
// --once).

// lintWarning is one likely mistake of a project; key "" is about the section as a whole.
type lintWarning struct {
	key, msg string
}

// regexSigns are the characters that make a tag look like a regex. None of them can occur in
// a docker image reference ([registry[:port]/]name[:tag][@digest] uses letters, digits and
// ". _ - / : @" only), so a real tag never has one once its $NAME, ${NAME} and $$ template
// references are taken out. "." is left out: it is common in both.
const regexSigns = `|*+?()[]{}\^$`

// inlineComment finds what configparser's inline_comment_prefixes would take for a comment: a
// ";" or "#" after whitespace. ConfigParser() has none, so it stays part of the value.
var inlineComment = regexp.MustCompile(`[ \t][;#]`)

// lint returns the likely mistakes of a project that decoded without errors.
func lint(proj *Project) []lintWarning {
	var out []lintWarning
	if proj.Tag != "" {
		// The literal text of the template: every reference expands to nothing, $$ to "$".
		literal, err := env.Expand(proj.Tag, func(string) (string, bool) { return "", true })
		if err == nil && strings.ContainsAny(literal, regexSigns) {
			out = append(out, lintWarning{"tag", fmt.Sprintf("%q looks like a regex, not an image tag: did you mean "+
				"\"tags\", the regex of the git tags to build? \"tag\" names the image that docker build makes, "+
				"e.g. app:${BUILD_SHORT_COMMIT}", proj.Tag)})
		}
	}
	for _, key := range []string{"branches", "tags"} {
		text := proj.Value(key)
		if loc := inlineComment.FindStringIndex(text); loc != nil {
			out = append(out, lintWarning{key, fmt.Sprintf("%q is part of the regex, not a comment: configparser has no "+
				"inline comments (and no ref name has a space for it to match); put the comment on a line of its own",
				strings.TrimSpace(text[loc[0]:]))})
		}
	}
	if !proj.Build && len(proj.EngineNames()) > 0 {
		out = append(out, lintWarning{"engines", "has no effect while build is False: only docker build and docker run " +
			"use an engine; the project's builds run here"})
	}
	if proj.Enabled && proj.Watch && proj.Branches == nil && proj.Tags == nil && !proj.PullRequests {
		out = append(out, lintWarning{"", "watches nothing: neither branches nor tags is set, so polling builds " +
			"nothing; set one (e.g. branches = main, tags = v.*), or watch = False if only webhooks or pipelined " +
			"enqueue start its builds"})
	}
	return out
}
