package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"pipelined/internal/cli"
)

// help returns the --help text of pipelined with args.
func help(t *testing.T, args ...string) string {
	t.Helper()
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs(append(args, "--help"))
	if err := root.Execute(); err != nil {
		t.Fatalf("%v --help: %v", args, err)
	}
	return out.String()
}

// flagLine returns the line of help's flag list that describes --name, or "".
func flagLine(text, name string) string {
	_, flags, _ := strings.Cut(text, "\nFlags:\n")
	return regexp.MustCompile(`(?m)^\s+--` + name + ` .*$`).FindString(flags)
}

// Each command's help says whether it needs --config and --workdir, and no more.
func TestHelpSaysWhichPathsEachCommandNeeds(t *testing.T) {
	for _, c := range []struct {
		args            []string
		config, workdir string // what the flag's line must say; "" for no such flag shown
	}{
		{nil, "(required)", "(required, except with --dump-config)"},
		{[]string{"status"}, "(optional", "(required)"},
		{[]string{"enqueue"}, "(required)", "(required)"},
		{[]string{"cancel"}, "", "(required)"},
		{[]string{"prune"}, "(required)", "(required)"},
		{[]string{"poll"}, "(required)", "(required)"},
	} {
		text := help(t, c.args...)
		for _, f := range []struct{ name, want string }{{"config", c.config}, {"workdir", c.workdir}} {
			line := flagLine(text, f.name)
			switch {
			case f.want == "" && line != "":
				t.Errorf("pipelined %v --help shows --%s: %q", c.args, f.name, line)
			case f.want != "" && !strings.Contains(line, f.want):
				t.Errorf("pipelined %v --help: --%s line %q, want it to say %q", c.args, f.name, line, f.want)
			}
		}
	}
	if line := flagLine(help(t, "status"), "config"); strings.Contains(line, "(required)") {
		t.Errorf("status --help claims --config is required: %q", line)
	}
}

// The paths may come before the subcommand, as when they were the root's flags.
func TestPathsBeforeTheSubcommand(t *testing.T) {
	root := newRootCommand()
	root.SetArgs([]string{"--workdir", "/nonexistent", "--config", "/x.ini", "cancel", "--help"})
	var out bytes.Buffer
	root.SetOut(&out)
	if err := root.Execute(); err != nil || !strings.Contains(out.String(), "cancel drops the queued jobs") {
		t.Errorf("pipelined --workdir W --config C cancel --help: %v\n%s", err, out.String())
	}
}

// The files pipelined writes for an operator are named where pipelined(1) lists the work
// directory: the build pages, the readable badges, the markers of build_existing.
func TestManPageNamesTheFilesAnOperatorReads(t *testing.T) {
	text := newRootCommand().Annotations[cli.ManFiles]
	for _, want := range []string{"the build's page", "WORKDIR/badges/PROJECT/", "branch/NAME.svg",
		"SHORTCOMMIT.recorded", ".first-poll"} {
		if !strings.Contains(text, want) {
			t.Errorf("the FILES of pipelined(1) lack %q", want)
		}
	}
}
