package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"pipelined/internal/config"
	"pipelined/internal/testenv"
)

// testRoot is a command tree with the help conventions of the real ones.
func testRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "pipelined --config CONFIG.INI",
		Short: "Test root",
		Long: `pipelined does things. A paragraph of several lines, filled to the
width of the page, with -- dashes, a backslash \ and 'quotes'.
.a line that starts with a dot is text, not a request

  a command line, kept as it is
      its second line, indented deeper

Example:
  pipelined --config /etc/pipelined.ini

SIGNALS
  SIGHUP            reload
  SIGTERM, SIGQUIT  stop, with a description that goes on
                    on the next line
  SIGINT
                    a term on a line of its own

EXIT STATUS
  0    success
  2    usage error`,
		Annotations: map[string]string{ManFiles: "  CONFIG.INI  the configuration", ManEnvironment: "  GOMAXPROCS  threads…",
			ManConfigPage: ""},
		Run: func(*cobra.Command, []string) {},
	}
	var config string
	root.Flags().StringVar(&config, "config", "", "project configuration file (required)")
	root.AddCommand(&cobra.Command{Use: "status", Short: "Status", Long: "status shows it.", Run: func(*cobra.Command, []string) {}})
	return root
}

// generate runs root --generate-man-pages DIR, as make install does.
func generate(t *testing.T, root *cobra.Command) string {
	t.Helper()
	dir := t.TempDir()
	addManFlag(root)
	root.SilenceUsage, root.SilenceErrors = true, true
	root.SetArgs([]string{"--generate-man-pages", dir})
	if err := root.Execute(); err != errManDone {
		t.Fatalf("--generate-man-pages: %v", err)
	}
	return dir
}

func TestManPageSectionsComeFromTheHelpAndAnnotations(t *testing.T) {
	dir := generate(t, testRoot())
	page, err := os.ReadFile(filepath.Join(dir, "man1", "pipelined.1"))
	if err != nil {
		t.Fatal(err)
	}
	var headings []string
	for _, line := range strings.Split(string(page), "\n") {
		if title, ok := strings.CutPrefix(line, ".SH "); ok {
			headings = append(headings, title)
		}
	}
	want := []string{"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SIGNALS", "EXIT STATUS", "ENVIRONMENT", "FILES", "SEE ALSO"}
	if !slices.Equal(headings, want) {
		t.Errorf("sections %q, want %q", headings, want)
	}
	for _, want := range []string{
		"\\&.a line that starts", // not a request
		// The descriptions start where they do in the help, at column 18.
		".TP 18n\n\\fBSIGTERM, SIGQUIT\\fR\nstop, with a description that goes on\non the next line\n",
		".TP 18n\n\\fBSIGINT\\fR\na term on a line of its own\n",
		".TP\n\\fB0\\fR\nsuccess\n", // too narrow a column for a .TP of its own: the default
		".nf\na command line, kept as it is\n    its second line, indented deeper\n.fi", // kept, relative indentation too
		"\\-\\- dashes, a backslash \\e",
		"threads\\[u2026]",
	} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
	text := testenv.ManPage(t, filepath.Join(dir, "man1", "pipelined.1"))
	if got := testenv.ManSections(text); !slices.Equal(got, want) {
		t.Errorf("man shows sections %q, want %q\n%s", got, want, text)
	}
	if strings.Contains(text, "pipelined(1)") {
		t.Errorf("the page lists itself in SEE ALSO:\n%s", text)
	}
	status := testenv.ManPage(t, filepath.Join(dir, "man1", "pipelined-status.1"))
	if !strings.Contains(status, "pipelined(1)") || strings.Contains(status, "pipelined-status(1)") {
		t.Errorf("SEE ALSO of pipelined-status:\n%s", status)
	}
}

func TestConfigPageHasEveryKey(t *testing.T) {
	dir := generate(t, testRoot())
	path := filepath.Join(dir, "man5", ConfigPage+".5")
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no configuration page: %v", err)
	}
	for _, k := range config.Keys {
		if !strings.Contains(string(page), ".TP\n\\fB"+roff(k.Name)+"\\fR ("+roff(k.Kind())) {
			t.Errorf("the page lacks the key %s", k.Name)
		}
	}
	text := testenv.ManPage(t, path)
	want := []string{"NAME", "SYNOPSIS", "DESCRIPTION", "SYNTAX", "KEYS", "DIAGNOSTICS", "FILES", "SEE ALSO"}
	if got := testenv.ManSections(text); !slices.Equal(got, want) {
		t.Errorf("sections %q, want %q", got, want)
	}
	if !strings.HasPrefix(text, "PIPELINED.INI(5)") || strings.Contains(text, "pipelined.ini(5)") ||
		!strings.Contains(text, "pipeline-build(1)") {
		t.Errorf("header or SEE ALSO:\n%s", text)
	}
}

// A root without the annotation writes no configuration page: pipeline-watch and
// pipeline-build leave it to pipelined.
func TestOnlyTheAnnotatedRootWritesTheConfigPage(t *testing.T) {
	root := testRoot()
	delete(root.Annotations, ManConfigPage)
	dir := generate(t, root)
	if _, err := os.Stat(filepath.Join(dir, "man5")); !os.IsNotExist(err) {
		t.Errorf("man5/ written: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "man1", "pipelined-status.1")); err != nil {
		t.Errorf("no page of the subcommand: %v", err)
	}
}
