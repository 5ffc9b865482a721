// Package engine is the pool of Docker engines builds run on (issue: more than one build
// host). An engine is a name, a DOCKER_HOST and a number of slots; the engine named
// "local" is the environment's own Docker, which shares this host's file system and so
// bind-mounts the checkout, while every other engine gets it copied in and the artifacts
// copied out. The pool is plain state: the supervisor decides when an engine is up or down.
package engine

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Local is the name of the engine that shares this host's file system.
const Local = "local"

// Engine is one Docker engine of the pool.
type Engine struct {
	Name  string
	Host  string // DOCKER_HOST; "" for the environment's own
	Slots int
}

// IsLocal reports whether the engine shares this host's file system (bind mounts work).
func (e Engine) IsLocal() bool { return e.Name == Local }

var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// ValidName reports whether name may name an engine: lower-case letters, digits, ".", "_"
// and "-", starting with a letter or digit.
func ValidName(name string) bool { return validName.MatchString(name) }

// Parse reads --engine NAME=DOCKER_HOST[,slots=N]. The host may be empty (the
// environment's own Docker, for "local").
func Parse(spec string) (Engine, error) {
	name, rest, ok := strings.Cut(spec, "=")
	switch {
	case !ok:
		return Engine{}, fmt.Errorf("--engine %q: write NAME=DOCKER_HOST[,slots=N]", spec)
	case !ValidName(name):
		return Engine{}, fmt.Errorf("--engine %q: the name %q is not lower-case letters, digits, '.', '_' and '-', starting with a letter or digit", spec, name)
	}
	e := Engine{Name: name, Slots: 1}
	host, opts, _ := strings.Cut(rest, ",")
	e.Host = host
	if host != "" && !strings.Contains(host, "://") {
		return Engine{}, fmt.Errorf("--engine %q: %q is not a DOCKER_HOST (unix://PATH, ssh://USER@HOST, tcp://HOST:PORT)", spec, host)
	}
	slotsSet := false
	for _, opt := range strings.Split(opts, ",") {
		if opt == "" {
			continue
		}
		value, ok := strings.CutPrefix(opt, "slots=")
		n, err := strconv.Atoi(value)
		if !ok || err != nil || n < 1 || strings.TrimLeft(value, "0123456789") != "" {
			return Engine{}, fmt.Errorf("--engine %q: %q is not slots=N with N a whole number of at least 1", spec, opt)
		}
		if slotsSet {
			return Engine{}, fmt.Errorf("--engine %q: slots is given twice", spec)
		}
		e.Slots, slotsSet = n, true
	}
	return e, nil
}

// Env returns env with DOCKER_HOST set to the engine's host, or as it is for an engine
// without one (the environment's own Docker).
func (e Engine) Env(env []string) []string { return WithHost(env, e.Host) }

// WithHost returns env with DOCKER_HOST set to host, or env itself for "" (the
// environment's own Docker).
func WithHost(env []string, host string) []string {
	if host == "" {
		return env
	}
	out := slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "DOCKER_HOST=") })
	return append(out, "DOCKER_HOST="+host)
}
