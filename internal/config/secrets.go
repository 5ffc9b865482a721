package config

import (
	"fmt"
	"strings"

	"pipelined/internal/env"
)

// exposedKeys are the keys whose values leave the build's protection: an argument of git,
// docker build, docker run or rsync, or a callback's argument vector (SPEC §7.1), visible to
// every user of the machine (ps, /proc) and written to build.log, build.json, the daemon's
// log and bad/*.reason (remote, env_file); the engines named in an error message; the token's
// file or variable, named in the daemon's log lines; and what is sent to the forge and shown
// on its pages (forge.*).
var exposedKeys = []string{"remote", "env_file", "engines", "tag", "label", "rsync.destination", "rsync.include",
	"dockerfile", "prepare_callback", "success_callback", "error_callback",
	"forge.url", "forge.repo", "forge.context", "forge.target_url", "forge.token_file", "forge.token_env"}

// secretWords are the parts of a key or variable name that say its value is a secret.
var secretWords = []string{"token", "secret", "password", "passwd", "passphrase", "apikey", "api_key",
	"credential", "private_key", "privatekey"}

// SecretName reports whether a key or variable name says that its value is a secret.
func SecretName(name string) bool {
	name = strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// checkSecrets refuses an exposed key whose value certainly carries a secret through
// %(name)s interpolation (SPEC §9), and returns the keys it refused, so that no other
// message about them quotes their value. Certainly a secret is env's own text, referred to
// directly or through other keys, and the value of a key shared with env whose name, or the
// name of the env variable it fills, says it is a secret (TOKEN, api_password, …). A key
// merely shared with env, such as a path, is accepted, as configparser users expect. Only
// references are followed: text that happens to be equal is not a leak. report gets the key
// and a message that names the reference and the variables, never a value. carries gives,
// for any key, the secret key its value carries ("" for none), so that a message about a
// value that is wrong for another reason does not quote it either.
func checkSecrets(sec *Section, report func(key, msg string)) (refused map[string]bool, carries func(key string) string) {
	refused = map[string]bool{}
	if sec.template("env") == nil || sec.Values["env"] == "" {
		return refused, func(string) string { return "" }
	}
	inEnv := keysInEnv(sec)
	offsets := firstOffsets(sec)
	secret := func(key string) bool {
		if !inEnv[key] || sec.Values[key] == "" {
			return false
		}
		return key == "env" || SecretName(key) || SecretName(strings.Join(varNames(sec, key, offsets), " "))
	}
	carrier := carrierOf(sec, secret)
	for _, key := range exposedKeys {
		if sec.template(key) == nil {
			continue
		}
		if secret(key) {
			refused[key] = true
			report(key, fmt.Sprintf("env refers to %%(%s)s, so this value is also %s, and a secret must not reach %s; %s, and if it is not secret, say so with a name that does not look like a secret's", key, describeVars(sec, key, offsets), exposure(key), byName))
			continue
		}
		for _, ref := range sec.template(key).refs {
			h := carrier(ref)
			if h == "" {
				continue
			}
			via := "%(" + ref + ")s"
			if h != ref {
				via += " (through %(" + h + ")s)"
			}
			refused[key] = true
			advice := fmt.Sprintf("if the value is not secret, give %%(%s)s a name that does not say so", h)
			if h == "env" {
				advice = fmt.Sprintf("if a part of it is not secret, give %s a helper key of its own that env does not use", key)
			}
			report(key, fmt.Sprintf("%s puts %s, into %s; %s, and %s", via, describeVars(sec, h, offsets), exposure(key), byName, advice))
			break
		}
	}
	return refused, carrier
}

// keysInEnv returns env and every key whose value is spliced into it, directly or not.
func keysInEnv(sec *Section) map[string]bool {
	inEnv := map[string]bool{}
	var mark func(key string)
	mark = func(key string) {
		if inEnv[key] {
			return
		}
		inEnv[key] = true
		if t := sec.template(key); t != nil {
			for _, ref := range t.refs {
				mark(ref)
			}
		}
	}
	mark("env")
	return inEnv
}

// carrierOf returns a function giving the first secret key among key itself and the keys it
// refers to, directly or not, in the order configparser expands them; "" for none. A
// section that was read has no reference loops, so memoizing makes this linear.
func carrierOf(sec *Section, secret func(string) bool) func(string) string {
	memo := map[string]string{}
	var carrier func(key string) string
	carrier = func(key string) string {
		if h, ok := memo[key]; ok {
			return h
		}
		h := ""
		if secret(key) {
			h = key
		} else if t := sec.template(key); t != nil {
			for _, ref := range t.refs {
				if h = carrier(ref); h != "" {
					break
				}
			}
		}
		memo[key] = h
		return h
	}
	return carrier
}

// exposure names where an exposed key's value goes.
func exposure(key string) string {
	switch {
	case key == "engines":
		return "an error message"
	case key == "forge.token_file" || key == "forge.token_env":
		return "the daemon's log lines"
	case strings.HasPrefix(key, "forge."):
		return "what is sent to the forge, where its users read it"
	}
	return "a command line"
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

// varNames returns the env variables whose lines the first copy of key's value in env falls
// on.
func varNames(sec *Section, key string, offsets map[string]int) []string {
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
	return names
}

// describeVars describes the env variables key's value fills: "the value of env variable
// TOKEN, a secret".
func describeVars(sec *Section, key string, offsets map[string]int) string {
	names := varNames(sec, key, offsets)
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

// unquoteSecrets replaces the message about a key whose value carries a secret, and is
// wrong for another reason (not a boolean, not a regex), by one that does not quote it: the
// refusals of checkSecrets, and env's own messages, which never quote a value, stay.
func unquoteSecrets(sec *Section, mine *problems, refused map[string]bool, carries func(string) string) {
	for _, list := range [][]*Error{mine.errs, mine.warnings} {
		for _, e := range list {
			if e.Key == "" || e.Key == "env" || refused[e.Key] {
				continue
			}
			if h := carries(e.Key); h != "" {
				e.Msg = fmt.Sprintf("its value is not valid here, and is not shown: it carries %%(%s)s, a secret; write the value itself%s", h, sec.where(e.Key))
			}
		}
	}
}
