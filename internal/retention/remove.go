package retention

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/docker"
	"pipelined/internal/workdir"
)

// Remover removes builds and the images only they needed.
type Remover struct {
	Layout workdir.Layout
	// Docker runs a docker command line on the engine at host (DOCKER_HOST, "" for the
	// environment's own) and returns its combined output.
	Docker func(ctx context.Context, host string, argv []string) (string, error)
}

// Remove removes a build's image, when it came from that build's docker build, no build
// that stays records it and no container uses it; then the build directory. keep lists the
// builds that stay (all of the work directory's, less those being removed). A Docker engine
// that cannot be asked keeps the build, so that its image is not forgotten; it returns the
// image it removed, "" for none.
func (r *Remover) Remove(ctx context.Context, b Build, keep []Build) (string, error) {
	image, err := r.removeImage(ctx, b, keep)
	if err != nil {
		return "", err
	}
	// Renamed aside first: a removal that fails halfway (permissions, a read-only file)
	// leaves either the whole build or no build.
	trash := workdir.RemovingName(b.Dir)
	if err := os.Rename(b.Dir, trash); err != nil {
		return image, fmt.Errorf("removing %s: %w", b.Dir, err)
	}
	// The build is gone; what of it cannot be deleted now is tried again by the next
	// PruneRef of its ref.
	os.RemoveAll(trash)
	return image, nil
}

// removeImage removes the build's image if nothing else needs it; see Remove.
func (r *Remover) removeImage(ctx context.Context, b Build, keep []Build) (string, error) {
	st := b.Status
	if st == nil || st.Image == "" {
		return "", nil
	}
	for _, k := range keep {
		if k.Status != nil && k.Status.Image == st.Image && k.Status.DockerHost == st.DockerHost {
			return "", nil // a build that stays records it
		}
	}
	out, err := r.Docker(ctx, st.DockerHost, docker.ImageLabelsArgs(st.Image))
	switch {
	case err != nil && strings.Contains(strings.ToLower(out), "no such image"):
		return "", nil // already gone
	case err != nil:
		return "", fmt.Errorf("asking docker about image %s: %v: %s", st.Image, err, strings.TrimSpace(out))
	}
	out = strings.TrimSpace(out)
	i := strings.LastIndexByte(out, '\t') // the tags, as JSON, are the last field: no tab in them
	var tags []string
	if i < 0 || json.Unmarshal([]byte(out[i+1:]), &tags) != nil {
		return "", fmt.Errorf("docker image inspect of %s printed %q", st.Image, out)
	}
	switch {
	case out[:i] != labelsOf(r.Layout, st).ImageLabels():
		return "", nil // not made by this build's docker build
	case slices.ContainsFunc(tags, func(tag string) bool { return tag != st.Tag }):
		return "", nil // tagged by someone else since: theirs now
	}
	users, err := r.Docker(ctx, st.DockerHost, docker.ImageUsersArgs(st.Image))
	if err != nil {
		return "", fmt.Errorf("asking docker which containers use image %s: %v", st.Image, err)
	}
	if strings.TrimSpace(users) != "" {
		return "", nil // a container uses it
	}
	if out, err := r.Docker(ctx, st.DockerHost, docker.RemoveImageArgs(st.Image)); err != nil {
		return "", fmt.Errorf("removing image %s: %v: %s", st.Image, err, strings.TrimSpace(out))
	}
	return st.Image, nil
}

// labelsOf are the labels the build's docker build put on its image.
func labelsOf(l workdir.Layout, st *buildlog.Status) docker.Labels {
	job := st.Job
	if job == "" {
		job = "manual"
	}
	return docker.Labels{Workdir: l.Root, Project: st.Project, Ref: st.Ref, Commit: st.JobCommit(), Job: job}
}

// Kept lists every build of the work directory but those in removing: the builds whose
// images must stay.
func Kept(l workdir.Layout, removing []Removal) []Build {
	gone := map[string]bool{}
	for _, r := range removing {
		gone[r.Dir] = true
	}
	var kept []Build
	all, _ := l.Builds()
	for _, b := range all {
		if gone[b.Dir] {
			continue
		}
		if st, err := buildlog.LoadStatus(workdir.StatusPath(b.Dir)); err == nil && st.Image != "" {
			kept = append(kept, Build{Dir: b.Dir, Status: st})
		}
	}
	return kept
}

// Outcome is what became of one build Prune chose.
type Outcome struct {
	Removal
	Image string // the image removed with it, "" for none
	Err   error  // why it stays after all
}

// PruneRef applies the policy to one ref directory: it removes (unless dryRun) what Plan
// chooses, and returns what became of each.
func (r *Remover) PruneRef(ctx context.Context, refDir string, p Policy, dryRun bool, protect ...string) []Outcome {
	if !dryRun {
		// What an earlier removal could not finish.
		leftovers, _ := filepath.Glob(filepath.Join(refDir, workdir.RemovingPrefix+"*"))
		for _, dir := range leftovers {
			os.RemoveAll(dir)
		}
	}
	removals := Plan(Read(refDir), p, time.Now(), protect...)
	if len(removals) == 0 {
		return nil
	}
	out := make([]Outcome, 0, len(removals))
	if dryRun {
		for _, rm := range removals {
			out = append(out, Outcome{Removal: rm})
		}
		return out
	}
	var keep []Build
	for _, rm := range removals {
		if rm.Status != nil && rm.Status.Image != "" && keep == nil {
			keep = Kept(r.Layout, removals)
		}
		image, err := r.Remove(ctx, rm.Build, keep)
		out = append(out, Outcome{Removal: rm, Image: image, Err: err})
	}
	return out
}
