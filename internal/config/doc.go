// Package config reads the project configuration file of SPEC §4: one INI file, one section
// per project, with exactly the syntax and meaning Python's configparser.ConfigParser() gives
// it, so that a file moves between the original Python tool and this one unchanged.
//
// Reading happens in three stages:
//
//  1. scan (scan.go) is a line-level pre-pass that reproduces CPython's RawConfigParser._read:
//     universal newlines, full-line comments (also inside values), relative indentation for
//     continuation lines, blank lines kept inside values, strict duplicate sections and keys,
//     keys before the first header. It reports every problem with its line number and writes
//     a normalised file in which all of that is already decided.
//  2. gopkg.in/ini.v1 parses the normalised file into sections and keys (read.go). The options
//     it is given, and the guard byte in front of every key and value, keep its own
//     conventions (quotes, auto-numbered "-" keys, inline comments) from touching the data.
//  3. read.go merges [DEFAULT] into every section and runs configparser's BasicInterpolation
//     (interpolate.go) in each section's context, expanding each key once per section rather
//     than at every reference, which configparser does at a cost exponential in the nesting;
//     project.go decodes the result into typed [Project] settings using the key table in
//     keys.go, which is also the source of [Config.Dump] and the README's configuration
//     reference ([Reference]), and refuses a section whose interpolation copies an env value
//     into a command line (secrets.go).
//
// Reading is bounded (size.go): the file by [MaxFileSize], a value made by interpolation by
// [MaxValueSize], and the whole configuration, with [DEFAULT] counted in every section and
// references at their expanded size, by [MaxEffectiveSize] — checked as a running total while
// the file is read, so that a file of a few kilobytes cannot take minutes or gigabytes.
//
// Interpolation errors are reported when the file is loaded, not when a value is first used as
// Python does: a configuration that cannot be read completely is refused as a whole.
package config
