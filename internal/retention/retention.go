// Package retention decides which finished builds of a ref to remove (the keep_builds and
// keep_days keys) and removes them: the build directory, and the image its docker build
// made when nothing else still needs that image. The rules never remove a running build,
// the newest build of a ref whatever its result (so that the watcher does not build a
// failed head commit again), or the newest successful build of a ref.
package retention

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/outcome"
	"pipelined/internal/workdir"
)

// Policy is a project's retention: 0 for a limit that is not set.
type Policy struct {
	KeepBuilds int // the newest N finished builds of each ref are kept
	KeepDays   int // finished builds older than this many days are removed
}

// Set reports whether the policy removes anything at all.
func (p Policy) Set() bool { return p.KeepBuilds > 0 || p.KeepDays > 0 }

// Build is one build directory of a ref.
type Build struct {
	Dir    string
	Status *buildlog.Status // nil when build.json is missing or unreadable
	// Started orders the builds; Finished is their age. Each is the earlier of what
	// build.json says and the directory's modification time, so that a build directory
	// back-dated either way counts as old.
	Started, Finished time.Time
}

// Running reports whether the build still runs: its pipeline-build is alive, whatever its
// build.json says (the result is recorded before error_callback runs).
func (b Build) Running() bool {
	return b.Status != nil && b.Status.Alive()
}

// Success reports whether the build succeeded.
func (b Build) Success() bool { return b.Status != nil && b.Status.Result == outcome.Success }

// Removal is a build to remove and why.
type Removal struct {
	Build
	Reason string
}

// Read lists the builds of one ref directory, newest first.
func Read(refDir string) []Build {
	var builds []Build
	for _, dir := range workdir.BuildDirs(refDir) {
		info, err := os.Lstat(dir)
		if err != nil {
			continue // removed meanwhile
		}
		b := Build{Dir: dir, Started: info.ModTime(), Finished: info.ModTime()}
		if st, err := buildlog.LoadStatus(workdir.StatusPath(dir)); err == nil {
			b.Status = st
			b.Started = earlier(b.Started, st.Started)
			b.Finished = earlier(b.Finished, st.Finished)
		}
		builds = append(builds, b)
	}
	sortNewestFirst(builds)
	return builds
}

// ReadRecent returns the n most recent builds of a ref directory, newest first, and how
// many builds it has. It orders the
// directories by their modification time (a build's last record) and reads the build.json
// of those n only: a ref may keep thousands of builds, and the pages show a few.
func ReadRecent(refDir string, n int) ([]Build, int) {
	type dir struct {
		path  string
		mtime time.Time
	}
	var dirs []dir
	for _, path := range workdir.BuildDirs(refDir) {
		if info, err := os.Lstat(path); err == nil {
			dirs = append(dirs, dir{path, info.ModTime()})
		}
	}
	sort.Slice(dirs, func(i, j int) bool { return dirs[i].mtime.After(dirs[j].mtime) })
	var builds []Build
	for _, d := range dirs[:min(n, len(dirs))] {
		b := Build{Dir: d.path, Started: d.mtime, Finished: d.mtime}
		if st, err := buildlog.LoadStatus(workdir.StatusPath(d.path)); err == nil {
			b.Status, b.Started, b.Finished = st, st.Started, st.Finished
		}
		builds = append(builds, b)
	}
	// Within those, the order of the builds themselves.
	sort.SliceStable(builds, func(i, j int) bool { return builds[i].Started.After(builds[j].Started) })
	return builds, len(dirs)
}

func earlier(a, b time.Time) time.Time {
	if !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

func sortNewestFirst(builds []Build) {
	sort.SliceStable(builds, func(i, j int) bool {
		if !builds[i].Started.Equal(builds[j].Started) {
			return builds[i].Started.After(builds[j].Started)
		}
		return builds[i].Dir > builds[j].Dir
	})
}

// Plan returns which of a ref's builds (newest first, as Read returns them) the policy
// removes at now, in the order of the list. The build in the directory protect (the one that
// has just finished, whatever the clocks say of the others) is never removed; "" protects none.
func Plan(builds []Build, p Policy, now time.Time, protect ...string) []Removal {
	if !p.Set() {
		return nil
	}
	newestSuccess := -1
	for i, b := range builds {
		if b.Success() {
			newestSuccess = i
			break
		}
	}
	var out []Removal
	finished := 0
	for i, b := range builds {
		if b.Running() {
			continue
		}
		finished++
		if i == 0 || i == newestSuccess || slices.Contains(protect, b.Dir) {
			continue // the newest build of the ref, and its newest success, always stay
		}
		switch {
		case p.KeepBuilds > 0 && finished > p.KeepBuilds:
			out = append(out, Removal{b, fmt.Sprintf("beyond keep_builds = %d", p.KeepBuilds)})
		case p.KeepDays > 0 && now.Sub(b.Finished) > time.Duration(p.KeepDays)*24*time.Hour:
			out = append(out, Removal{b, fmt.Sprintf("older than keep_days = %d", p.KeepDays)})
		}
	}
	return out
}

// Next returns the build that the ref's next finished build would make the policy remove,
// beyond what it removes now: what `pipelined status` shows as "next to go".
func Next(builds []Build, p Policy, now time.Time) (Build, bool) {
	now1 := now.Add(time.Second)
	withNext := append([]Build{{Dir: "(the next build)", Started: now1, Finished: now1,
		Status: &buildlog.Status{Result: outcome.Success}}}, builds...)
	due := map[string]bool{}
	for _, r := range Plan(builds, p, now) {
		due[r.Dir] = true
	}
	for _, r := range Plan(withNext, p, now) {
		if !due[r.Dir] {
			return r.Build, true
		}
	}
	return Build{}, false
}
