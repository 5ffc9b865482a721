// Package env owns the environment of a build (SPEC §7.2): NAME=value lines from env_file
// and the inline env key, the precedence of process environment < env_file < env < runtime
// BUILD_* variables, the list of names (never values) handed to docker, the set of secret
// values to keep out of logs, and Python string.Template "$" interpolation (§7.3).
package env
