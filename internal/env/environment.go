package env

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Runtime variable names (SPEC §7.2). They are set by pipeline-build and win over anything
// the process environment, env_file or env say.
const (
	BuildProject     = "BUILD_PROJECT"
	BuildRemote      = "BUILD_REMOTE"
	BuildRef         = "BUILD_REF"
	BuildRefName     = "BUILD_REF_NAME"
	BuildBranch      = "BUILD_BRANCH"
	BuildTag         = "BUILD_TAG"
	BuildCommit      = "BUILD_COMMIT"
	BuildShortCommit = "BUILD_SHORT_COMMIT"
	BuildTagObject   = "BUILD_TAG_OBJECT" // an annotated tag's tag object; BUILD_COMMIT is the commit it tags
	BuildEngine      = "BUILD_ENGINE"     // the name of the Docker engine the build runs on
	BuildRunPath     = "BUILD_RUN_PATH"
	BuildPath        = "BUILD_PATH"
	BuildDropPath    = "BUILD_DROP_PATH"
	BuildLog         = "BUILD_LOG"
	BuildImage       = "BUILD_IMAGE"
	BuildStatus      = "BUILD_STATUS"
	BuildStep        = "BUILD_STEP"
	// BuildPullRequest is the number of the pull (merge) request a build is of; unset for
	// branches and tags.
	BuildPullRequest = "BUILD_PULL_REQUEST"
)

// IsRuntime reports whether name is one of the BUILD_* runtime variables.
func IsRuntime(name string) bool {
	switch name {
	case BuildProject, BuildRemote, BuildRef, BuildRefName, BuildBranch, BuildTag, BuildCommit,
		BuildShortCommit, BuildTagObject, BuildEngine, BuildRunPath, BuildPath, BuildDropPath, BuildLog, BuildImage, BuildStatus, BuildStep, BuildPullRequest:
		return true
	}
	return false
}

// Environment is the environment of one build: the process environment, overridden by the
// project's variables (env_file, then env), overridden by the runtime variables.
type Environment struct {
	values  map[string]string
	project map[string]bool // names that came from env_file or env: secret values
	runtime []string        // runtime names, in the order they were set
}

// Compose builds the environment with the precedence of SPEC §7.2.
func Compose(process []string, envFile, inline []Var) *Environment {
	e := &Environment{values: map[string]string{}, project: map[string]bool{}}
	for _, kv := range process {
		if name, value, ok := strings.Cut(kv, "="); ok && name != "" {
			e.values[name] = value
		}
	}
	for _, vars := range [][]Var{envFile, inline} {
		for _, v := range vars {
			e.values[v.Name] = v.Value
			e.project[v.Name] = true
		}
	}
	return e
}

// Set sets a runtime variable; it overrides any other value of the same name.
func (e *Environment) Set(name, value string) {
	if !slices.Contains(e.runtime, name) {
		e.runtime = append(e.runtime, name)
	}
	e.values[name] = value
	delete(e.project, name)
}

// Override sets a variable as the process environment would, with precedence over
// env_file and env: it is neither a runtime variable (it is not handed to docker by name) nor
// a secret. The Docker engine the supervisor chose sets DOCKER_HOST this way.
func (e *Environment) Override(name, value string) {
	e.values[name] = value
	delete(e.project, name)
}

// Unset removes a variable.
func (e *Environment) Unset(name string) {
	delete(e.values, name)
	delete(e.project, name)
}

// Clone returns an independent copy.
func (e *Environment) Clone() *Environment {
	c := &Environment{values: map[string]string{}, project: map[string]bool{}, runtime: append([]string(nil), e.runtime...)}
	for k, v := range e.values {
		c.values[k] = v
	}
	for k := range e.project {
		c.project[k] = true
	}
	return c
}

// Lookup returns the value of name.
func (e *Environment) Lookup(name string) (string, bool) {
	v, ok := e.values[name]
	return v, ok
}

// List returns the environment as NAME=value strings for a subprocess, sorted.
func (e *Environment) List() []string {
	list := make([]string, 0, len(e.values))
	for k, v := range e.values {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list
}

// DockerNames are the names handed to docker as --build-arg NAME and --env NAME: the
// project's variables (sorted), then the runtime variables. Only names: docker takes the
// values from its own environment, so none appears in a command line.
func (e *Environment) DockerNames() []string {
	var names []string
	for name := range e.project {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range e.runtime {
		if _, ok := e.values[name]; ok {
			names = append(names, name)
		}
	}
	return names
}

// minSecretLength: shorter values (a "1", a "yes") are not redacted, as replacing them
// would garble every log line that happens to contain them.
const minSecretLength = 4

// Redact replaces every value of a project variable (from env_file or env) in s by "***".
func (e *Environment) Redact(s string) string {
	var secrets []string
	for name := range e.project {
		if v := e.values[name]; len(v) >= minSecretLength {
			secrets = append(secrets, v)
		}
	}
	// Longest first, so that a secret containing another is replaced whole.
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, "***")
	}
	return s
}

// Interpolate expands $NAME, ${NAME} and $$ in a key's value over the environment
// (SPEC §7.3). The value becomes part of a command line, so a reference to a project
// variable, whose value is secret, is refused.
func (e *Environment) Interpolate(key, tmpl string) (string, error) {
	var secret string
	out, err := Expand(tmpl, func(name string) (string, bool) {
		if e.project[name] && secret == "" {
			secret = name
		}
		return e.Lookup(name)
	})
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	if secret != "" {
		return "", fmt.Errorf("%s: $%s comes from env or env_file, whose values are kept out of command lines; set it in the daemon's environment or write the value into %s", key, secret, key)
	}
	return out, nil
}

// ForProject composes a project's environment: process, then the env_file (read now, if
// set), then the inline variables.
func ForProject(process []string, envFile string, inline []Var) (*Environment, error) {
	var fileVars []Var
	if envFile != "" {
		var err error
		if fileVars, err = ReadFile(envFile); err != nil {
			return nil, fmt.Errorf("env_file: %w", err)
		}
	}
	return Compose(process, fileVars, inline), nil
}
