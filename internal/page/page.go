// Package page writes the static status pages of a work directory (SPEC: what an operator
// sees): WORKDIR/index.html for every project, WORKDIR/PROJECT/index.html for one, a page
// per recent build (its directory's index.html), an SVG badge per ref (at a readable URL,
// badges/PROJECT/branch/NAME.svg, and at PROJECT/REF/status.svg) and a `latest` link to
// each ref's newest build. Plain HTML with a little inline CSS and a few lines of script
// that only add to it (relative times, a running build's growing log): without script the
// pages read the same; no fonts or files from elsewhere, readable in a text browser and on
// a phone, every name escaped. Any web server — or a browser on the file system — shows
// them. Every file is written whole or not at all.
package page

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"pipelined/internal/atomicfile"
	"pipelined/internal/config"
	"pipelined/internal/outcome"
	"pipelined/internal/recorded"
	"pipelined/internal/retention"
	"pipelined/internal/safeopen"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// olderPerRef is how many older builds a project page lists under each ref.
const olderPerRef = 10

// site is what the pages show.
type site struct {
	Generated time.Time
	Projects  []*project
	Failing   []build // the refs whose state is a failure: what a reader looks for first
	Running   []build
	Queued    []queuedJob
}

type project struct {
	Name string
	Refs []*ref
}

type ref struct {
	Ref    string  // full ref
	Dir    string  // its directory, relative to the work directory
	State  build   // the build that gives the ref its state (retention.State)
	Newer  *build  // the newest build, when it is not State: a canceled rebuild, one running
	Recent []build // the recent builds, newest first
}

// build is one build as the pages show it.
type build struct {
	Project, Ref          string
	Result                string // running, success, failed, canceled, skipped, recorded, unknown
	Reason                string
	Commit, Short         string
	Subject               string // the commit's subject line
	Source                string // who asked for it: watch, webhook, manual, …
	CommitURL             string // the commit's link (commit_url), "" for none
	Output                []string
	Started, Finished     time.Time
	Duration              time.Duration
	Dir                   string // relative to the work directory, slash-separated
	HasLog, HasJSON, Drop bool
	Page                  bool // the build has a page of its own (index.html in its directory)
}

type queuedJob struct {
	Project, Ref, Short, Source string
	Since                       time.Time
	Note                        string
}

// Write regenerates every page of the work directory, and the badges and `latest` link of
// every ref.
func Write(layout workdir.Layout, jobs *outcome.Jobs, now time.Time) error {
	s := read(layout, jobs, now)
	var errs []string
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	keep(writeFile(filepath.Join(layout.Root, config.StatusPageName), indexPage(s)))
	for _, p := range s.Projects {
		keep(writeFile(filepath.Join(layout.ProjectDir(p.Name), config.StatusPageName), projectPage(s.only(p))))
		for _, r := range p.Refs {
			keep(writeRef(layout, p.Name, r))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("writing the status pages: %s", strings.Join(errs, "; "))
	}
	return nil
}

// only is the site as one project's page shows it.
func (s *site) only(p *project) *site {
	one := &site{Generated: s.Generated, Projects: []*project{p}}
	for _, b := range s.Running {
		if b.Project == p.Name {
			one.Running = append(one.Running, b)
		}
	}
	for _, q := range s.Queued {
		if q.Project == p.Name {
			one.Queued = append(one.Queued, q)
		}
	}
	return one
}

// writeRef writes a ref's badges, its `latest` link and the pages of its recent builds.
func writeRef(layout workdir.Layout, project string, r *ref) error {
	refDir := filepath.Join(layout.Root, filepath.FromSlash(r.Dir))
	svg := badge(r.State.Result)
	errs := []error{writeBadge(layout, project, r.Ref, svg), writeFile(filepath.Join(refDir, "status.svg"), svg)}
	if len(r.Recent) > 0 {
		errs = append(errs, linkLatest(refDir, filepath.Base(r.Recent[0].Dir)))
	}
	builds := r.Recent
	if r.State.Page && !slices.ContainsFunc(builds, func(b build) bool { return b.Dir == r.State.Dir }) {
		builds = append(builds, r.State) // older than the recent ones: none of them decided
	}
	for _, b := range builds {
		dir := filepath.Join(layout.Root, filepath.FromSlash(b.Dir))
		if b.Result != outcome.Running && pageFresh(dir) {
			continue // a finished build's page changes no more: its log is not read again
		}
		err := writeFile(filepath.Join(dir, config.StatusPageName), buildPage(b, readLogTail(workdir.LogPath(dir))))
		if !errors.Is(err, fs.ErrNotExist) { // a build renamed or removed meanwhile
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// pageFresh reports whether a build's page was written after its build.json and build.log
// last changed.
func pageFresh(dir string) bool {
	page, err := os.Lstat(filepath.Join(dir, config.StatusPageName))
	if err != nil {
		return false
	}
	for _, f := range []string{workdir.StatusPath(dir), workdir.LogPath(dir)} {
		if info, err := os.Lstat(f); err != nil || info.ModTime().After(page.ModTime()) {
			return false
		}
	}
	return true
}

// read gathers the builds of the work directory and the queue.
func read(layout workdir.Layout, jobs *outcome.Jobs, now time.Time) *site {
	s := &site{Generated: now.UTC()}
	projects, _ := os.ReadDir(layout.Root)
	for _, pd := range projects {
		if !pd.IsDir() || !workdir.ValidProjectName(pd.Name()) || pd.Name() == config.BadgesDirName {
			continue
		}
		if p := readProject(layout, pd.Name(), s); len(p.Refs) > 0 {
			s.Projects = append(s.Projects, p)
		}
	}
	if jobs != nil {
		s.Queued = readQueue(jobs)
	}
	return s
}

// readProject reads the refs of one project, adding its failing and running builds to s.
func readProject(layout workdir.Layout, name string, s *site) *project {
	p := &project{Name: name}
	refs, _ := os.ReadDir(layout.ProjectDir(name))
	for _, rd := range refs {
		if !rd.IsDir() {
			continue
		}
		refDir := filepath.Join(layout.ProjectDir(name), rd.Name())
		r := &ref{Ref: rd.Name(), Dir: name + "/" + rd.Name()}
		recent, _, state, ok := retention.ReadState(refDir, olderPerRef+1)
		if !ok {
			if rec := recorded.List(refDir); len(rec) > 0 {
				r.Ref, r.State = rec[0].Ref, recordedBuild(name, r.Dir, rec[0])
				p.Refs = append(p.Refs, r)
			}
			continue
		}
		r.State = view(layout, name, state)
		for _, b := range recent {
			v := view(layout, name, b)
			r.Recent = append(r.Recent, v)
			if v.Result == outcome.Running {
				s.Running = append(s.Running, v)
			}
		}
		if r.Recent[0].Dir != r.State.Dir {
			r.Newer = &r.Recent[0]
		}
		if r.State.Ref != "" {
			r.Ref = r.State.Ref
		}
		if r.State.Result == outcome.Failed {
			s.Failing = append(s.Failing, r.State)
		}
		p.Refs = append(p.Refs, r)
	}
	sort.Slice(p.Refs, func(i, j int) bool { return p.Refs[i].Ref < p.Refs[j].Ref })
	return p
}

// recorded is a ref whose commit the first poll recorded without a build.
func recordedBuild(project, refDir string, r recorded.Record) build {
	return build{Project: project, Ref: r.Ref, Result: "recorded", Commit: r.Commit, Short: workdir.ShortCommit(r.Commit),
		Reason: r.Reason, Finished: r.Recorded, Dir: refDir}
}

// readQueue reads the jobs waiting in the spool.
func readQueue(jobs *outcome.Jobs) []queuedJob {
	var queued []queuedJob
	entries, _ := jobs.Spool().List(spool.New)
	for _, e := range entries {
		j, err := jobs.Read(spool.New, e.Name)
		if err != nil {
			continue
		}
		q := queuedJob{Project: j.Project, Ref: j.Ref, Short: workdir.ShortCommit(j.Commit), Source: j.Source, Since: e.ModTime}
		if q.Short == "" {
			q.Short = "latest"
		}
		if n := len(j.Attempts); n > 0 {
			q.Note = fmt.Sprintf("attempt %d failed: %s", n, j.Attempts[n-1].Reason)
		}
		queued = append(queued, q)
	}
	return queued
}

// view turns a build directory into what the pages show.
func view(layout workdir.Layout, project string, b retention.Build) build {
	rel, _ := filepath.Rel(layout.Root, b.Dir)
	v := build{Project: project, Result: "unknown", Dir: filepath.ToSlash(rel), Started: b.Started}
	if st := b.Status; st != nil {
		v.Ref, v.Result, v.Reason, v.Commit, v.Short, v.Subject = st.Ref, st.Result, st.Reason, st.Commit, st.ShortCommit, st.Subject
		v.Source, v.CommitURL, v.Output = st.Source, st.CommitURL, st.FailedOutput
		v.Started, v.Finished = st.Started, st.Finished
		v.Duration = time.Duration(st.Seconds * float64(time.Second)).Round(time.Second)
		if st.Result == outcome.Running && !st.Alive() {
			v.Result, v.Reason = "unknown", "its process is gone; the daemon marks it at its next start"
		}
	}
	_, err := os.Stat(workdir.LogPath(b.Dir))
	v.HasLog = err == nil
	_, err = os.Stat(workdir.StatusPath(b.Dir))
	v.HasJSON = err == nil
	_, err = os.Stat(workdir.DropPath(b.Dir))
	v.Drop = err == nil
	v.Page = v.HasJSON // Write gives every build it reads a page
	return v
}

// href makes a path relative to the work directory a link: each segment escaped, so that
// a ref directory's own "%2F" reaches the server as "%2F", not as a "/".
func href(prefix, rel string, more ...string) string {
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	for _, m := range more {
		parts = append(parts, url.PathEscape(m))
	}
	return prefix + strings.Join(parts, "/")
}

// writeFile writes data to path whole or not at all (atomicfile).
// A file that already says the same is left alone. An error names path, never the
// temporary file: the daemon logs an error once for as long as it stays the same.
func writeFile(path string, data []byte) (err error) {
	if same(path, data) {
		return nil
	}
	defer func() {
		var pathErr *os.PathError
		var linkErr *os.LinkError
		switch {
		case errors.As(err, &pathErr):
			err = fmt.Errorf("writing %s: %w", path, pathErr.Err)
		case errors.As(err, &linkErr):
			err = fmt.Errorf("writing %s: %w", path, linkErr.Err)
		}
	}()
	return atomicfile.Write(path, data, 0o644)
}

// same reports whether the regular file at path holds data (a build's step could have put
// anything there: it is read the careful way).
func same(path string, data []byte) bool {
	f, err := safeopen.Open(path, os.O_RDONLY, int64(len(data)), false)
	if err != nil {
		return false
	}
	defer f.Close()
	old, err := io.ReadAll(f)
	return err == nil && bytes.Equal(old, data)
}

// linkLatest points refDir/latest at the build directory name, replacing the old link in
// one rename.
func linkLatest(refDir, name string) error {
	link := filepath.Join(refDir, "latest")
	if target, err := os.Readlink(link); err == nil && target == name {
		return nil
	}
	tmp := filepath.Join(refDir, ".latest.tmp")
	os.Remove(tmp)
	if err := os.Symlink(name, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, link)
}
