package workdir

import (
	"path/filepath"
)

// RecordedSuffix ends the name of the marker of a commit that was recorded rather than
// built: with build_existing = False, the first poll of a project writes
// PROJECT/REF/SHORT.recorded for each ref the remote has then. It is a regular file, so
// nothing that lists builds (retention, prune, the pages, recovery) takes it for one and
// nothing removes it as one; Existing finds it, so the watcher does not build that commit.
// Deleting it lets the commit be built, as deleting a build directory does.
const RecordedSuffix = ".recorded"

// PolledMarker is the file that says a project with build_existing = False has had its
// first poll: from then on, what the watcher finds new is built.
func (l Layout) PolledMarker(project string) string {
	return filepath.Join(l.ProjectDir(project), ".first-poll")
}

// RecordedPath is the marker of a recorded commit of a ref.
func (l Layout) RecordedPath(project, ref, commit string) string {
	return filepath.Join(l.RefDir(project, ref), ShortCommit(commit)+RecordedSuffix)
}
