package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// seeAlso are the pages of the three binaries, of pipelined's subcommands and of the
// configuration file; each page lists the others.
var seeAlso = []string{"pipelined(1)", "pipeline-watch(1)", "pipeline-build(1)", "pipelined-status(1)",
	"pipelined-enqueue(1)", "pipelined-cancel(1)", "pipelined-prune(1)", "pipelined-poll(1)", ConfigPage + "(5)"}

// manFlag is the hidden flag `make install` uses to write the man pages of a binary.
const manFlag = "generate-man-pages"

// Annotations of a command (cobra.Command.Annotations) for its man page. FILES and
// ENVIRONMENT are reference material for the page, which --help would only make longer;
// SIGNALS and EXIT STATUS stay in the Long help, under headings of their own, which the
// page turns into sections too.
const (
	ManFiles       = "man:FILES"
	ManEnvironment = "man:ENVIRONMENT"
	// ManConfigPage, set on a root command, makes --generate-man-pages also write the page
	// of the configuration file, pipelined.ini(5).
	ManConfigPage = "man:config-page"
)

// errManDone ends a run that only wrote man pages.
var errManDone = errors.New("man pages written")

// addManFlag gives root a hidden --generate-man-pages MANDIR: the man pages come from the
// same text as --help, so the two never disagree. MANDIR is a man hierarchy such as
// /usr/local/share/man: the pages go into its man1/ (and man5/ for the configuration
// page), where man finds them.
func addManFlag(root *cobra.Command) {
	var dir string
	root.PersistentFlags().StringVar(&dir, manFlag, "", "write man pages into MANDIR/man1/ (and man5/) and exit")
	root.PersistentFlags().MarkHidden(manFlag)
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if dir == "" {
			return nil
		}
		if err := writeManPages(root, filepath.Join(dir, "man1")); err != nil {
			return err
		}
		if _, ok := root.Annotations[ManConfigPage]; ok {
			if err := writePage(filepath.Join(dir, "man5"), ConfigPage+".5", configPage()); err != nil {
				return err
			}
		}
		return errManDone
	}
}

// writeManPages writes NAME.1 for the command and each visible subcommand.
func writeManPages(cmd *cobra.Command, dir string) error {
	if err := writePage(dir, pageName(cmd)+".1", manPage(cmd)); err != nil {
		return err
	}
	for _, sub := range cmd.Commands() {
		if sub.IsAvailableCommand() && sub.Name() != "help" {
			if err := writeManPages(sub, dir); err != nil {
				return err
			}
		}
	}
	return nil
}

func writePage(dir, name, page string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name), []byte(page), 0o644)
}

// pageName is "pipelined-status" for "pipelined status".
func pageName(cmd *cobra.Command) string { return strings.ReplaceAll(cmd.CommandPath(), " ", "-") }

// lateSections are the sections that follow OPTIONS and any other section of the Long help,
// in the order of man-pages(7).
var lateSections = []string{"EXIT STATUS", "ENVIRONMENT", "FILES"}

func manPage(cmd *cobra.Command) string {
	var b strings.Builder
	name := pageName(cmd)
	header(&b, name, 1)
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", roff(name), roff(cmd.Short))
	fmt.Fprintf(&b, ".SH SYNOPSIS\n.B %s\n", roff(cmd.UseLine()))
	description, sections := splitSections(cmd.Long)
	fmt.Fprintf(&b, ".SH DESCRIPTION\n%s", roffBody(description))
	b.WriteString(".SH OPTIONS\n")
	flags := func(fs *pflag.FlagSet) {
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Hidden {
				return
			}
			varname, usage := pflag.UnquoteUsage(f)
			fmt.Fprintf(&b, ".TP\n.B \\-\\-%s %s\n%s", roff(f.Name), roff(varname), roffText(usage))
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
				fmt.Fprintf(&b, " (default %s)", roff(f.DefValue))
			}
			b.WriteString("\n")
		})
	}
	flags(cmd.NonInheritedFlags())
	flags(cmd.InheritedFlags())
	if text, ok := cmd.Annotations[ManEnvironment]; ok {
		sections = append(sections, manSection{"ENVIRONMENT", text})
	}
	if text, ok := cmd.Annotations[ManFiles]; ok {
		sections = append(sections, manSection{"FILES", text})
	}
	// The Long help's own sections (SIGNALS, …) in its order, then the late ones.
	slices.SortStableFunc(sections, func(a, b manSection) int {
		return slices.Index(lateSections, a.title) - slices.Index(lateSections, b.title)
	})
	for _, s := range sections {
		fmt.Fprintf(&b, ".SH %s\n%s", s.title, roffBody(s.body))
	}
	writeSeeAlso(&b, name+"(1)")
	return b.String()
}

// header writes the .TH line of a page.
func header(b *strings.Builder, name string, section int) {
	fmt.Fprintf(b, ".TH %s %d \"\" \"pipelined %s\" \"pipelined manual\"\n", roff(strings.ToUpper(name)), section, roff(version))
	// No hyphenation: it would break option and key names (--check-sum) where a reader
	// copies them from.
	b.WriteString(".nh\n")
}

// writeSeeAlso lists every page but self.
func writeSeeAlso(b *strings.Builder, self string) {
	var see []string
	for _, page := range seeAlso {
		if page != self {
			see = append(see, page)
		}
	}
	fmt.Fprintf(b, ".SH SEE ALSO\n%s\n", roff(strings.Join(see, ", ")))
}

// manSection is a section of a page: its heading and its body in the help's plain text.
type manSection struct {
	title, body string
}

// heading is a section heading of a help text: a line of capitals alone, at its start.
var heading = regexp.MustCompile(`^[A-Z][A-Z ]*[A-Z]$`)

// splitSections splits a help text at its headings ("SIGNALS", "EXIT STATUS"): the text
// before the first is the description.
func splitSections(text string) (description string, sections []manSection) {
	var cur []string
	title := ""
	flush := func() {
		body := strings.Join(cur, "\n")
		if title == "" {
			description = body
		} else {
			sections = append(sections, manSection{title, body})
		}
		cur = nil
	}
	for _, line := range strings.Split(text, "\n") {
		if heading.MatchString(line) {
			flush()
			title = line
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return description, sections
}

// definition is the first line of a definition list in a help text: indented, a term, at
// least two spaces, and its description ("  SIGHUP   reload the configuration").
var definition = regexp.MustCompile(`^(\S(?:.*?\S)?)  +(\S.*)$`)

// roffBody turns a help text into man paragraphs. The help's plain-text conventions:
//   - lines at the left margin are a paragraph, filled to the page's width;
//   - indented lines whose first line is "TERM  description" are a definition list: a
//     line at that indentation starts an item, more deeply indented lines continue it;
//   - other indented lines (commands, examples) are kept as they are.
//
// A blank line separates paragraphs.
func roffBody(text string) string {
	var b strings.Builder
	lines := strings.Split(strings.Trim(text, "\n"), "\n")
	for i := 0; i < len(lines); {
		if strings.TrimSpace(lines[i]) == "" {
			i++
			continue
		}
		j := i + 1
		if indent(lines[i]) == 0 {
			for j < len(lines) && indent(lines[j]) == 0 && strings.TrimSpace(lines[j]) != "" {
				j++
			}
			b.WriteString(".PP\n")
			for _, l := range lines[i:j] {
				b.WriteString(roffText(l) + "\n")
			}
			i = j
			continue
		}
		for j < len(lines) && indent(lines[j]) > 0 {
			j++
		}
		block := lines[i:j]
		if base := indent(block[0]); definition.MatchString(block[0][base:]) {
			writeDefinitions(&b, block, base)
		} else {
			if i == 0 || strings.TrimSpace(lines[i-1]) == "" {
				b.WriteString(".PP\n") // a paragraph of its own, not the end of the one above
			}
			b.WriteString(".RS 2\n.nf\n")
			for _, l := range block {
				b.WriteString(roffText(l[min(base, indent(l)):]) + "\n")
			}
			b.WriteString(".fi\n.RE\n")
		}
		i = j
	}
	return b.String()
}

// writeDefinitions writes the items of a definition list indented by base. The descriptions
// start in the column they have in the help, when that is not too far right, so that the
// page reads like the help: short terms beside their description, long ones above it.
func writeDefinitions(b *strings.Builder, block []string, base int) {
	tp := ".TP"
	m := definition.FindStringSubmatchIndex(block[0][base:])
	if column := m[4]; column > 7 && column <= 24 {
		tp = fmt.Sprintf(".TP %dn", column)
	}
	for n, l := range block {
		if indent(l) > base && n > 0 {
			b.WriteString(roffText(strings.TrimSpace(l)) + "\n")
			continue
		}
		term, desc := strings.TrimSpace(l), ""
		if m := definition.FindStringSubmatch(l[min(base, indent(l)):]); m != nil {
			term, desc = m[1], m[2]
		}
		fmt.Fprintf(b, "%s\n\\fB%s\\fR\n", tp, roff(term))
		if desc != "" {
			b.WriteString(roffText(desc) + "\n")
		}
	}
}

// indent is the number of leading spaces of a line.
func indent(line string) int { return len(line) - len(strings.TrimLeft(line, " ")) }

// roff escapes text for a man page: backslashes, dashes that are meant literally, and
// characters beyond ASCII, which groff takes as named glyphs ("…" is \[u2026]) rather
// than as input it may not read.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if !strings.ContainsFunc(s, func(r rune) bool { return r > unicode.MaxASCII }) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r > unicode.MaxASCII {
			fmt.Fprintf(&b, `\[u%04X]`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// roffText escapes a line of text; a line starting with "." or "'" would be a request.
func roffText(s string) string {
	s = roff(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
