package config

import (
	"fmt"
	"strings"

	"pipelined/internal/env"
)

// commandLineKeys are the keys whose values end up in a command line: an argument of docker
// build, docker run or rsync, or a callback's argument vector (SPEC §7.1). A command line is
// visible to every user of the machine (ps, /proc) and is written to build.log and build.json.
var commandLineKeys = []string{"tag", "label", "rsync.destination", "rsync.include", "dockerfile",
	"prepare_callback", "success_callback", "error_callback"}

// checkSecrets refuses a section in which a value of env reaches a command line through
// %(name)s interpolation (SPEC §9). Every env value is a secret: pipeline-build hands env to
// docker by name only and refuses $NAME of an env variable in tag, label and
// rsync.destination, but config interpolation happens before any of that and would copy the
// value itself. A command-line key leaks when it refers, directly or through other keys, to
// env or to a key whose value is also spliced into env (or when env refers to the key
// itself), and that shared value is not empty. Only references are followed: text that
// happens to be equal is not a leak. report gets the key and a message that names the
// reference and the variables, never a value.
func checkSecrets(sec *Section, report func(key, msg string)) {
	if sec.template("env") == nil || sec.Values["env"] == "" {
		return
	}
	// inEnv holds env and every key whose value is spliced into it.
	inEnv := map[string]bool{}
	var mark func(key string)
	mark = func(key string) {
		if inEnv[key] {
			return
		}
		inEnv[key] = true
		for _, ref := range sec.template(key).refs {
			mark(ref)
		}
	}
	mark("env")
	carries := func(key string) bool { return inEnv[key] && sec.Values[key] != "" }

	// carrier returns the first key whose value is also in env, among key itself and the keys
	// it refers to, directly or not, in the order configparser expands them; "" for none. A
	// section that was read has no reference loops, so memoizing makes this linear.
	memo := map[string]string{}
	var carrier func(key string) string
	carrier = func(key string) string {
		if h, ok := memo[key]; ok {
			return h
		}
		h := ""
		if carries(key) {
			h = key
		} else {
			for _, ref := range sec.template(key).refs {
				if h = carrier(ref); h != "" {
					break
				}
			}
		}
		memo[key] = h
		return h
	}

	var offsets map[string]int // computed when a leak is found
	for _, key := range commandLineKeys {
		t := sec.template(key)
		if t == nil {
			continue
		}
		if carries(key) {
			if offsets == nil {
				offsets = firstOffsets(sec)
			}
			report(key, fmt.Sprintf("env refers to %%(%s)s, so this value is also %s, and a secret must not be on a command line; %s, and if the value is not secret, give env a copy of it or a helper key that %s does not use", key, secretNames(sec, key, offsets), byName, key))
			continue
		}
		for _, ref := range t.refs {
			h := carrier(ref)
			if h == "" {
				continue
			}
			if offsets == nil {
				offsets = firstOffsets(sec)
			}
			via := "%(" + ref + ")s"
			if h != ref {
				via += " (through %(" + h + ")s)"
			}
			report(key, fmt.Sprintf("%s puts %s, into a command line; %s, and if the value is not secret, give %s a helper key of its own that env does not use", via, secretNames(sec, h, offsets), byName, key))
			break
		}
	}
}

// byName is what to do with a secret instead.
const byName = "env values reach a build by name only (docker --build-arg and --env, the environment of callbacks), so read the variable there"

// firstOffsets maps every key spliced into env to the offset in env's interpolated value where
// its first copy starts. Each key is walked once, at its first reference, so a key referenced
// many times costs no more than once.
func firstOffsets(sec *Section) map[string]int {
	offsets := map[string]int{"env": 0}
	var walk func(key string, at int)
	walk = func(key string, at int) {
		t := sec.template(key)
		for _, pc := range t.pieces {
			if pc.ref < 0 {
				at += len(pc.text)
				continue
			}
			name := t.refs[pc.ref]
			if _, seen := offsets[name]; !seen {
				offsets[name] = at
				walk(name, at)
			}
			at += len(sec.Values[name])
		}
	}
	walk("env", 0)
	return offsets
}

// secretNames describes the env variables whose lines the first copy of key's value in env
// falls on: "the value of env variable TOKEN, a secret".
func secretNames(sec *Section, key string, offsets map[string]int) string {
	text := sec.Values["env"]
	start := offsets[key]
	end := start + len(sec.Values[key])
	var names []string
	seen := map[string]bool{}
	for lineStart := 0; lineStart < end; {
		line, _, _ := strings.Cut(text[lineStart:], "\n")
		lineEnd := lineStart + len(line)
		if lineEnd > start {
			// The same rules as env.ParseLines: blank lines and comments hold no variable.
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
				if name, _, ok := strings.Cut(l, "="); ok {
					if name = strings.TrimSpace(name); env.ValidName(name) && !seen[name] {
						seen[name] = true
						names = append(names, name)
					}
				}
			}
		}
		lineStart = lineEnd + 1
	}
	switch len(names) {
	case 0:
		return "a part of env's value, a secret"
	case 1:
		return "the value of env variable " + names[0] + ", a secret"
	}
	if len(names) > 4 {
		names = append(names[:3], fmt.Sprintf("%d more", len(names)-3))
	}
	return "the values of env variables " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + ", secrets"
}
