package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// seeAlso are the pages of the three binaries and of pipelined's subcommands; each page
// lists the others.
var seeAlso = []string{"pipelined", "pipeline-watch", "pipeline-build", "pipelined-status", "pipelined-enqueue",
	"pipelined-cancel", "pipelined-prune", "pipelined-poll"}

// manFlag is the hidden flag `make install` uses to write the man pages of a binary.
const manFlag = "generate-man-pages"

// errManDone ends a run that only wrote man pages.
var errManDone = errors.New("man pages written")

// addManFlag gives root a hidden --generate-man-pages DIR: the man pages come from the
// same text as --help, so the two never disagree.
func addManFlag(root *cobra.Command) {
	var dir string
	root.PersistentFlags().StringVar(&dir, manFlag, "", "write man pages into this directory and exit")
	root.PersistentFlags().MarkHidden(manFlag)
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if dir == "" {
			return nil
		}
		if err := writeManPages(root, dir); err != nil {
			return err
		}
		return errManDone
	}
}

// writeManPages writes NAME.1 for the command and each visible subcommand.
func writeManPages(cmd *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := strings.ReplaceAll(cmd.CommandPath(), " ", "-")
	if err := os.WriteFile(filepath.Join(dir, name+".1"), []byte(manPage(cmd)), 0o644); err != nil {
		return err
	}
	for _, sub := range cmd.Commands() {
		if sub.IsAvailableCommand() && sub.Name() != "help" && sub.Name() != "completion" {
			if err := writeManPages(sub, dir); err != nil {
				return err
			}
		}
	}
	return nil
}

func manPage(cmd *cobra.Command) string {
	var b strings.Builder
	name := strings.ReplaceAll(cmd.CommandPath(), " ", "-")
	fmt.Fprintf(&b, ".TH %s 1 \"\" \"pipelined %s\" \"pipelined manual\"\n", strings.ToUpper(name), roff(version))
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", roff(name), roff(cmd.Short))
	fmt.Fprintf(&b, ".SH SYNOPSIS\n.B %s\n", roff(cmd.UseLine()))
	fmt.Fprintf(&b, ".SH DESCRIPTION\n.nf\n%s\n.fi\n", roffLines(cmd.Long))
	b.WriteString(".SH OPTIONS\n")
	flags := func(fs *pflag.FlagSet) {
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Hidden {
				return
			}
			varname, usage := pflag.UnquoteUsage(f)
			fmt.Fprintf(&b, ".TP\n.B \\-\\-%s %s\n%s", roff(f.Name), roff(varname), roff(usage))
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
				fmt.Fprintf(&b, " (default %s)", roff(f.DefValue))
			}
			b.WriteString("\n")
		})
	}
	flags(cmd.NonInheritedFlags())
	flags(cmd.InheritedFlags())
	var see []string
	for _, page := range seeAlso {
		if page != name {
			see = append(see, page+"(1)")
		}
	}
	fmt.Fprintf(&b, ".SH SEE ALSO\n%s\n", roff(strings.Join(see, ", ")))
	return b.String()
}

// roff escapes text for a man page: backslashes, and dashes that are meant literally.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	return strings.ReplaceAll(s, "-", `\-`)
}

// roffLines escapes a block of lines; a line starting with "." or "'" would be a request.
func roffLines(s string) string {
	lines := strings.Split(roff(s), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}
