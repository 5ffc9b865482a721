// Package workdir owns the on-disk layout of the work directory (SPEC §5): one directory
// per build at PROJECT/REF_URLENCODED/SHORTCOMMIT[.tmp], and pipelined's own state under
// .pipelined/. It is the only package that builds these paths.
package workdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Layout is a work directory.
type Layout struct {
	Root string // absolute path of the work directory
}

// New returns the layout rooted at dir, made absolute.
func New(dir string) (Layout, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Layout{}, err
	}
	return Layout{Root: abs}, nil
}

// Open opens a work directory that the daemon or pipeline-build has made: one with its
// .pipelined/. A mistyped --workdir is refused (a usage error) rather than created, since a
// job queued there would wait for a daemon that never comes.
func Open(dir string) (Layout, error) {
	l, err := New(dir)
	if err != nil {
		return l, err
	}
	if info, err := os.Stat(l.StateDir()); err != nil || !info.IsDir() {
		return l, &NotWorkdirError{Root: l.Root}
	}
	return l, nil
}

// NotWorkdirError is a --workdir that is not a work directory: a usage error.
type NotWorkdirError struct{ Root string }

func (e *NotWorkdirError) Error() string {
	return e.Root + " is not a pipelined work directory: it has no .pipelined/ (is --workdir mistyped? " +
		"pipelined and pipeline-build create it on their first run)"
}

// ExitCode is 2, a usage error (package exitcode).
func (e *NotWorkdirError) ExitCode() int { return 2 }

// StateDir is pipelined's own state, which no project name can collide with: project names
// start with a letter or digit.
func (l Layout) StateDir() string { return filepath.Join(l.Root, ".pipelined") }

// SpoolDir is the job spool (tmp/, new/, cur/, bad/).
func (l Layout) SpoolDir() string { return filepath.Join(l.StateDir(), "spool") }

// DaemonLock is the file the one daemon of the work directory locks; it holds its pid.
func (l Layout) DaemonLock() string { return filepath.Join(l.StateDir(), "pipelined.pid") }

// PollRequests holds one empty file per project that `pipelined poll PROJECT` wants polled
// now; the watcher removes them as it reads them.
func (l Layout) PollRequests() string { return filepath.Join(l.StateDir(), "poll") }

// EnginesState is where the daemon publishes its Docker engines' state for `pipelined
// status`.
func (l Layout) EnginesState() string { return filepath.Join(l.StateDir(), "engines.json") }

// ConfigSnapshot is where the supervisor keeps the configuration it last loaded
// successfully, for its children to read.
func (l Layout) ConfigSnapshot() string { return filepath.Join(l.StateDir(), "config.ini") }

// OutboxDir is where status reports wait to be delivered to the forge (package forge).
func (l Layout) OutboxDir() string { return filepath.Join(l.StateDir(), "outbox") }

// PullsDir keeps each project's last answer of the forge's list of open pull requests, for
// conditional requests (package forge).
func (l Layout) PullsDir() string { return filepath.Join(l.StateDir(), "pulls") }

// ProjectDir is the directory of all builds of a project.
func (l Layout) ProjectDir(project string) string { return filepath.Join(l.Root, project) }

// RefDir is the directory of all builds of a ref.
func (l Layout) RefDir(project, ref string) string {
	return filepath.Join(l.Root, project, EncodeRef(ref))
}

// TmpSuffix marks a build directory whose build has not (yet) succeeded.
const TmpSuffix = ".tmp"

// ShortCommit is the first 8 hex digits of a commit, the name of its build directory.
func ShortCommit(commit string) string {
	if len(commit) > 8 {
		return commit[:8]
	}
	return commit
}

// EncodeRef makes a full ref one path component: "/" and every byte outside
// [A-Za-z0-9._-] become %XX, so "refs/heads/main" is "refs%2Fheads%2Fmain" and no ref can
// name "..", contain a separator or collide with another ref. "." and ".." themselves
// cannot occur: a valid ref has at least one "/".
func EncodeRef(ref string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		if keptInRef(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// EncodedLength is len(EncodeRef(ref)), counted without building it: the watcher checks
// every ref a remote lists.
func EncodedLength(ref string) int {
	n := 0
	for i := 0; i < len(ref); i++ {
		if keptInRef(ref[i]) {
			n++
		} else {
			n += 3
		}
	}
	return n
}

// keptInRef reports whether EncodeRef keeps the byte c as it is.
func keptInRef(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// Exists reports whether a build directory of the commit exists for the ref, finished or
// not (SHORT, SHORT.tmp, or a rebuild's SHORT-N[.tmp]): the work directory is the
// watcher's only state (SPEC §6).
func (l Layout) Exists(project, ref, commit string) bool {
	return l.Existing(project, ref, commit) != ""
}

// Existing returns the path of the build directory Exists finds (SHORT first, then
// SHORT.tmp), or "" if there is none: what pipeline-watch --once names as the reason it
// does not build a commit again.
func (l Layout) Existing(project, ref, commit string) string {
	base := filepath.Join(l.RefDir(project, ref), ShortCommit(commit))
	// A commit recorded without a build (build_existing = False) counts as built.
	for _, p := range []string{base, base + TmpSuffix, base + RecordedSuffix} {
		if _, err := os.Lstat(p); err == nil {
			return p
		}
	}
	// A rebuild's SHORT-N[.tmp] counts too: a retried or requeued job's builds are numbered.
	if rebuilds, _ := filepath.Glob(base + "-[0-9]*"); len(rebuilds) > 0 {
		return rebuilds[0]
	}
	return ""
}

// Create makes a new build directory for the commit and returns its path, which ends in
// .tmp. The first build of a commit gets SHORT.tmp; a rebuild never reuses another build's
// directory and gets SHORT-2.tmp, SHORT-3.tmp, and so on.
func (l Layout) Create(project, ref, commit string) (string, error) {
	dir := l.RefDir(project, ref)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", fmt.Errorf("creating %s: %w", dir, err)
	}
	short := ShortCommit(commit)
	for n := 1; n < 10000; n++ {
		name := short
		if n > 1 {
			name += "-" + strconv.Itoa(n)
		}
		final := filepath.Join(dir, name)
		if _, err := os.Lstat(final); err == nil {
			continue
		}
		err := os.Mkdir(final+TmpSuffix, 0o777)
		if err == nil {
			return final + TmpSuffix, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("creating the build directory: %w", err)
		}
	}
	return "", fmt.Errorf("too many builds of %s in %s", short, dir)
}

// Builds lists every build directory of the work directory (finished or not) with the
// project and the encoded ref it belongs to.
func (l Layout) Builds() ([]Build, error) {
	var builds []Build
	projects, err := os.ReadDir(l.Root)
	if err != nil {
		return nil, err
	}
	for _, p := range projects {
		if !p.IsDir() || strings.HasPrefix(p.Name(), ".") {
			continue
		}
		refs, _ := os.ReadDir(filepath.Join(l.Root, p.Name()))
		for _, r := range refs {
			if !r.IsDir() {
				continue
			}
			for _, dir := range BuildDirs(filepath.Join(l.Root, p.Name(), r.Name())) {
				builds = append(builds, Build{Project: p.Name(), EncodedRef: r.Name(), Dir: dir})
			}
		}
	}
	return builds, nil
}

// BuildDirs lists the build directories of one ref directory (finished or not), by name:
// the one lister of a ref's builds. It leaves out the ref's badge and latest link, a
// recorded commit's marker (none of them directories) and a build being removed.
func BuildDirs(refDir string) []string {
	entries, _ := os.ReadDir(refDir)
	var dirs []string
	for _, e := range entries {
		if e.IsDir() && BuildDirName(e.Name()) {
			dirs = append(dirs, filepath.Join(refDir, e.Name()))
		}
	}
	return dirs
}

// BuildDirName reports whether an entry of a ref directory with this name is a build: not
// the badge or the latest link (which are not directories), nor a build being removed
// (see RemovingName), whose name starts with a dot.
func BuildDirName(name string) bool { return !strings.HasPrefix(name, ".") }

// RemovingPrefix starts the name a build directory is renamed to while it is removed, so
// that a removal that fails halfway leaves no half build behind under a build's name.
const RemovingPrefix = ".removing-"

// RemovingName is the name dir has while it is removed.
func RemovingName(dir string) string {
	return filepath.Join(filepath.Dir(dir), RemovingPrefix+filepath.Base(dir))
}

// Build is one build directory.
type Build struct {
	Project    string
	EncodedRef string
	Dir        string
}

// Paths inside a build directory (SPEC §5).
func LogPath(buildDir string) string    { return filepath.Join(buildDir, "build.log") }
func StatusPath(buildDir string) string { return filepath.Join(buildDir, "build.json") }
func DropPath(buildDir string) string   { return filepath.Join(buildDir, "drop") }
func CheckoutPath(buildDir string) string {
	return filepath.Join(buildDir, "build")
}
func ImageIDPath(buildDir string) string { return filepath.Join(buildDir, "image.id") }

// CancelMarker is where `pipelined cancel` says why it canceled a build run by hand (one
// without a job file, whose marker would be beside the job).
func CancelMarker(buildDir string) string { return filepath.Join(buildDir, ".withdrawn") }

// FinalPath is where a build directory goes when its build succeeds.
func FinalPath(tmpDir string) string { return strings.TrimSuffix(tmpDir, TmpSuffix) }

// Finish renames a successful build's directory from SHORT.tmp to SHORT and returns the new
// path.
func Finish(tmpDir string) (string, error) {
	final := strings.TrimSuffix(tmpDir, TmpSuffix)
	if err := os.Rename(tmpDir, final); err != nil {
		return tmpDir, err
	}
	return final, nil
}

// Removals lists the build directories a removal renamed aside (RemovingName) and did not
// delete: a shutdown interrupted it. Each is to be deleted: its build is gone already.
func (l Layout) Removals() []string {
	var dirs []string
	projects, _ := os.ReadDir(l.Root)
	for _, p := range projects {
		if !p.IsDir() || strings.HasPrefix(p.Name(), ".") {
			continue
		}
		refs, _ := os.ReadDir(filepath.Join(l.Root, p.Name()))
		for _, r := range refs {
			if !r.IsDir() {
				continue
			}
			found, _ := filepath.Glob(filepath.Join(l.Root, p.Name(), r.Name(), RemovingPrefix+"*"))
			dirs = append(dirs, found...)
		}
	}
	return dirs
}

// projectName: a project name is a directory name under the work directory and part of
// a container name, so it is one path component of letters, digits, ".", "_" and "-",
// starting with a letter or digit (so never ".", "..", ".pipelined" or an option).
var projectName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// ValidProjectName reports whether name may be a project (a section of the configuration).
func ValidProjectName(name string) bool { return projectName.MatchString(name) }
