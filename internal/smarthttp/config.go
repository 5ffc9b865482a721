package smarthttp

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"pipelined/internal/git"
	"pipelined/internal/procexec"
)

// Snapshot is what a pass knows of git's configuration, learnt once: the output of `git
// config --null --list` run with the pass's environment (every file git reads, includes
// expanded, the repository's too when the watcher runs inside one), and whether $HOME holds
// a .netrc, which curl reads for credentials.
type Snapshot struct {
	Env     []string // the environment it was read with
	Entries []Entry
	Netrc   bool
}

// Entry is one configuration variable: section.subsection.name, section and name in
// lower case as git prints them, the subsection as written.
type Entry struct {
	Section, Subsection, Name string
	Value                     string
	NoValue                   bool // "[http] sslVerify" without "=": true for a boolean
}

// maxConfigOutput bounds what git config may print.
const maxConfigOutput = 1 << 20

// ReadSnapshot runs git config once with env, within ctx, and looks for $HOME/.netrc and
// _netrc.
func ReadSnapshot(ctx context.Context, env []string) (*Snapshot, error) {
	var out bytes.Buffer
	w := &limitWriter{w: &out, left: maxConfigOutput}
	argv := []string{"git", "--no-pager", "config", "--null", "--list"}
	_, err := procexec.Run(ctx, procexec.Cmd{Argv: argv, Env: env, Output: w})
	switch msg := git.Message(out.Bytes()); {
	case w.left < 0:
		return nil, fmt.Errorf("git config: more than %d KiB", maxConfigOutput>>10)
	case err != nil && (strings.HasPrefix(msg, "fatal:") || strings.HasPrefix(msg, "error:")):
		// Only git's own complaint: the rest of the output is configuration, which may
		// hold secrets.
		return nil, fmt.Errorf("git config: %s (%w)", msg, err)
	case err != nil:
		return nil, fmt.Errorf("git config: %w", err)
	}
	entries, err := ParseConfig(out.Bytes())
	if err != nil {
		return nil, err
	}
	s := &Snapshot{Env: env, Entries: entries}
	if home := lookup(env, "HOME"); home != "" {
		s.Netrc = exists(filepath.Join(home, ".netrc")) || exists(filepath.Join(home, "_netrc"))
	}
	return s, nil
}

// exists reports whether path may exist: anything but "not there" counts.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// Names as git writes them in lower case; anything else in the output is not git
// config's (a warning on the same pipe, say), and the whole output is then refused.
var (
	sectionName  = regexp.MustCompile(`^[a-z0-9.-]+$`)
	variableName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
)

// ParseConfig reads the output of git config --null --list: "key\nvalue\0", or "key\0"
// for a variable without a value.
func ParseConfig(out []byte) ([]Entry, error) {
	var entries []Entry
	for _, item := range strings.SplitAfter(string(out), "\x00") {
		if item == "" {
			break
		}
		item, ended := strings.CutSuffix(item, "\x00")
		key, value, hasValue := strings.Cut(item, "\n")
		first, last := strings.IndexByte(key, '.'), strings.LastIndexByte(key, '.')
		if !ended || first <= 0 || !sectionName.MatchString(key[:first]) || !variableName.MatchString(key[last+1:]) {
			return nil, fmt.Errorf("git config: unexpected output %q", git.Message([]byte(key)))
		}
		e := Entry{Section: key[:first], Name: key[last+1:], Value: value, NoValue: !hasValue}
		if first < last {
			e.Subsection = key[first+1 : last]
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// limitWriter keeps what fits in left bytes; left goes negative when more was written.
type limitWriter struct {
	w    *bytes.Buffer
	left int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	n := min(len(p), max(l.left, 0))
	l.w.Write(p[:n])
	l.left -= len(p)
	if l.left < 0 {
		return n, errors.New("output over its cap")
	}
	return len(p), nil
}

// roots returns the certificates https remotes are checked against, as git has curl check
// them: the file GIT_SSL_CAINFO or else http.sslCAInfo names, instead of the system's; the
// system's otherwise (nil). why says, if https remotes must go to git, why.
func (s *Snapshot) roots() (pool *x509.CertPool, why string) {
	file, why := s.caFile()
	if why != "" || file == "" {
		return nil, why
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Sprintf("reading the CA file: %v", err)
	}
	pool = x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Sprintf("no certificate in the CA file %s", file)
	}
	return pool, ""
}

// caFile is the CA file git would give curl, "" for the system's roots.
func (s *Snapshot) caFile() (file, why string) {
	if file, set := lookupSet(s.Env, "GIT_SSL_CAINFO"); set {
		if !filepath.IsAbs(file) {
			return "", "GIT_SSL_CAINFO is not an absolute path"
		}
		return file, ""
	}
	for _, e := range s.Entries {
		if e.Section == "http" && e.Subsection == "" && e.Name == "sslcainfo" {
			file = e.Value // the last one counts
		}
	}
	if file != "" && !filepath.IsAbs(file) {
		// git expands "~/" and "%(prefix)/" in a path; left to git.
		return "", "http.sslCAInfo is not an absolute path"
	}
	if file == "" {
		// Go's system roots read these, git's GnuTLS does not.
		for _, name := range []string{"SSL_CERT_FILE", "SSL_CERT_DIR"} {
			if _, set := lookupSet(s.Env, name); set {
				return "", name + " is set (git does not read it)"
			}
		}
	}
	return file, ""
}

// lookup returns the value of name in env, the last one if there are several, as exec does.
func lookup(env []string, name string) string {
	v, _ := lookupSet(env, name)
	return v
}

func lookupSet(env []string, name string) (value string, set bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v, true
		}
	}
	return "", false
}
