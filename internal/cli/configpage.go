package cli

import (
	"fmt"
	"regexp"
	"strings"

	"pipelined/internal/config"
)

// ConfigPage is the name of the configuration file's man page, pipelined.ini(5).
const ConfigPage = "pipelined.ini"

// The configuration page's text, in the plain-text conventions of roffBody. The KEYS
// section between them is generated from config.Keys, the table the loader itself reads.
const (
	configDescription = `pipelined.ini is the one configuration file of pipelined(1), pipeline-watch(1) and
pipeline-build(1), given with --config. It has one section per project; the section name is
the project name: letters, digits, ".", "_" and "-", starting with a letter or digit, at most
100 characters (it names a directory and a container). A project builds the branches and tags
of its remote that its branches and tags regexes match, with the steps its other keys enable.

The file is read when a program starts, when pipelined gets SIGHUP or sees the file change,
and by "pipelined --dump-config --config FILE", which checks it and prints the effective
configuration: every key of every project, defaults filled in, references resolved.`

	configSyntax = `The syntax is exactly what Python's configparser.ConfigParser() reads, so a file means
the same to the original Python tool and to this one:

  [DEFAULT]
  shallow = True

  [example-project]
  remote = https://git.example.com/app.git
  branches = main|release-.*
  env =
      LANG=C.UTF-8
      TARGET=production

A key is written "key = value" or "key: value". Keys are case-insensitive, section names are
not; whitespace around keys and values is ignored.

Comments are whole lines that start with "#" or ";", also indented. There are no inline
comments: in "branches = main ; release" the value is "main ; release".

An indented line continues the value of the key above it; empty lines inside a value are
kept when an indented line follows.

The keys of the [DEFAULT] section apply to every section that does not set them; DEFAULT is
not a project.

%(name)s is replaced by the value of the key "name" of the same section (or of DEFAULT),
recursively, and %% is a literal "%". A reference that does not resolve, or a lone "%", is an
error when the file loads. Keys used only in such references are helpers, not mistakes.

Booleans are 1, yes, true, on and 0, no, false, off, in any case. Regexes are Go's RE2 syntax
and must match the whole branch or tag name; lookaround and backreferences are refused. tag,
label and rsync.destination expand $NAME, ${NAME} and $$ over the build's environment (the
BUILD_* variables of pipeline-build(1), env_file, env and the daemon's own) when a build
runs; "$" means nothing special anywhere else.

Duplicate sections, and duplicate keys in one section, are errors.`

	configDiagnostics = `The file is checked completely when it loads, and every problem is reported at once, as
FILE:LINE: [SECTION] KEY: message. An invalid file makes pipelined, pipeline-watch and
pipeline-build exit 2 at start; on a reload, the daemon logs the problems and keeps the
previous configuration.

Warnings do not stop the file from loading. The daemon logs them; --dump-config and
"pipeline-watch --once" print them:

  unknown key      a key the table above does not have and no %(name)s refers to, with a
                   "did you mean" for a near miss such as bulid or branch
  regex-like tag   a tag with | * + ? ( ) [ ] { } \ ^ or $ outside its $NAME references:
                   tag names the image docker build makes; tags is the regex of the git
                   tags to build
  inline comment   " ;" or " #" in branches or tags, which stays part of the regex
  watches nothing  an enabled project with watch = True and neither branches nor tags:
                   polling never builds it`

	configFiles = `  /etc/pipelined.ini  the usual place; any path can be given with --config
  WORKDIR/.pipelined/config.ini
                  the daemon's copy of the last file that loaded (mode 0600, as it holds
                  env values), which its pipeline-watch and pipeline-build read`
)

// configPage is the man page of the configuration file.
func configPage() string {
	var b strings.Builder
	header(&b, ConfigPage, 5)
	fmt.Fprintf(&b, ".SH NAME\n%s \\- the configuration file of pipelined, pipeline\\-watch and pipeline\\-build\n", ConfigPage)
	b.WriteString(".SH SYNOPSIS\n.B pipelined \\-\\-config\n.I CONFIG.INI\n")
	fmt.Fprintf(&b, ".SH DESCRIPTION\n%s", roffBody(configDescription))
	fmt.Fprintf(&b, ".SH SYNTAX\n%s", roffBody(configSyntax))
	b.WriteString(".SH KEYS\n")
	for _, k := range config.Keys {
		def := "no default"
		if k.Default != "" {
			def = "default " + k.Default
		}
		fmt.Fprintf(&b, ".TP\n\\fB%s\\fR (%s, %s)\n%s\n", roff(k.Name), roff(k.Kind()), roff(def), markdownCode(roffText(k.Doc)))
	}
	fmt.Fprintf(&b, ".SH DIAGNOSTICS\n%s", roffBody(configDiagnostics))
	fmt.Fprintf(&b, ".SH FILES\n%s", roffBody(configFiles))
	writeSeeAlso(&b, ConfigPage+"(5)")
	return b.String()
}

// code is a `span` of the key table's Markdown (the README is made from the same text).
var code = regexp.MustCompile("`([^`]+)`")

// markdownCode sets the key table's `code` spans in bold.
func markdownCode(s string) string { return code.ReplaceAllString(s, `\fB$1\fR`) }
