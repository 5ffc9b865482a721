// Package page writes the static status pages of a work directory (SPEC: what an operator
// sees): WORKDIR/index.html for every project, WORKDIR/PROJECT/index.html for one, an SVG
// badge per ref (PROJECT/REF/status.svg) and a `latest` link to each ref's newest build.
// Plain HTML with a little inline CSS: no JavaScript, no fonts or files from elsewhere,
// readable in a text browser and on a phone, every name escaped. Any web server — or a
// browser on the file system — shows them. Every file is written whole or not at all.
package page

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/outcome"
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
	Failing   []build // the refs whose latest build failed: what a reader looks for first
	Running   []build
	Queued    []queuedJob
}

type project struct {
	Name string
	Refs []*ref
}

type ref struct {
	Ref    string // full ref
	Dir    string // its directory, relative to the work directory
	Latest build
	Older  []build
}

// build is one build as the pages show it.
type build struct {
	Project, Ref          string
	Result                string // running, success, failed, canceled, skipped, unknown
	Reason                string
	Commit, Short         string
	Subject               string // the commit's subject line
	Started, Finished     time.Time
	Duration              time.Duration
	Dir                   string // relative to the work directory, slash-separated
	HasLog, HasJSON, Drop bool
}

type queuedJob struct {
	Project, Ref, Short, Source string
	Since                       time.Time
	Note                        string
}

// Write regenerates every page of the work directory, and the badge and `latest` link of
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
		keep(writeFile(filepath.Join(layout.ProjectDir(p.Name), config.StatusPageName), projectPage(one)))
		for _, r := range p.Refs {
			refDir := filepath.Join(layout.Root, filepath.FromSlash(r.Dir))
			keep(writeFile(filepath.Join(refDir, "status.svg"), badge(r.Latest.Result)))
			keep(linkLatest(refDir, filepath.Base(r.Latest.Dir)))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("writing the status pages: %s", strings.Join(errs, "; "))
	}
	return nil
}

// read gathers the builds of the work directory and the queue.
func read(layout workdir.Layout, jobs *outcome.Jobs, now time.Time) *site {
	s := &site{Generated: now.UTC()}
	projects, _ := os.ReadDir(layout.Root)
	for _, pd := range projects {
		if !pd.IsDir() || !config.ValidProjectName(pd.Name()) {
			continue
		}
		p := &project{Name: pd.Name()}
		refs, _ := os.ReadDir(layout.ProjectDir(p.Name))
		for _, rd := range refs {
			if !rd.IsDir() {
				continue
			}
			builds, _ := retention.ReadRecent(filepath.Join(layout.ProjectDir(p.Name), rd.Name()), olderPerRef+1)
			if len(builds) == 0 {
				continue
			}
			r := &ref{Ref: rd.Name(), Dir: p.Name + "/" + rd.Name()}
			for i, b := range builds {
				v := view(layout, p.Name, b)
				if v.Ref != "" {
					r.Ref = v.Ref
				}
				switch {
				case i == 0:
					r.Latest = v
					if v.Result == outcome.Failed {
						s.Failing = append(s.Failing, v)
					}
				case i <= olderPerRef:
					r.Older = append(r.Older, v)
				}
				if v.Result == outcome.Running {
					s.Running = append(s.Running, v)
				}
			}
			p.Refs = append(p.Refs, r)
		}
		sort.Slice(p.Refs, func(i, j int) bool { return p.Refs[i].Ref < p.Refs[j].Ref })
		if len(p.Refs) > 0 {
			s.Projects = append(s.Projects, p)
		}
	}
	if jobs != nil {
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
			s.Queued = append(s.Queued, q)
		}
	}
	return s
}

// view turns a build directory into what the pages show.
func view(layout workdir.Layout, project string, b retention.Build) build {
	rel, _ := filepath.Rel(layout.Root, b.Dir)
	v := build{Project: project, Result: "unknown", Dir: filepath.ToSlash(rel), Started: b.Started}
	if st := b.Status; st != nil {
		v.Ref, v.Result, v.Reason, v.Commit, v.Short, v.Subject = st.Ref, st.Result, st.Reason, st.Commit, st.ShortCommit, st.Subject
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

// writeFile writes data to path whole or not at all: a temporary file beside it, renamed.
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
	tmp, err := os.CreateTemp(filepath.Dir(path), ".page-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	return err
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
