// Package docker builds the docker command lines of SPEC §7.1 and §7.4: image build, run,
// stop and remove, the container name and the labels that let orphans be found later. The
// commands themselves run through procexec; nothing here talks to the engine's API.
package docker

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Label keys put on every image and container pipelined makes. LabelWorkdir finds all of a
// work directory's containers; LabelBuild names the build directory a container belongs to.
const (
	LabelWorkdir = "pipelined.workdir"
	LabelProject = "pipelined.project"
	LabelRef     = "pipelined.ref"
	LabelCommit  = "pipelined.commit"
	LabelJob     = "pipelined.job"
	LabelBuild   = "pipelined.build"
)

// Labels are the pipelined.* labels of one build, in a fixed order.
type Labels struct {
	Workdir, Project, Ref, Commit, Job, Build string
}

// imageLabels are the labels of an image. LabelBuild is left out: it would differ for
// every rebuild of a commit and defeat docker's build cache for the label steps (the
// legacy builder makes each --label a step of its own).
func (l Labels) imageLabels() [][2]string {
	return [][2]string{{LabelWorkdir, l.Workdir}, {LabelProject, l.Project}, {LabelRef, l.Ref},
		{LabelCommit, l.Commit}, {LabelJob, l.Job}}
}

// containerLabels are the labels of a container: the image's and the build directory,
// which ties a container to a running build.
func (l Labels) containerLabels() [][2]string {
	return append(l.imageLabels(), [2]string{LabelBuild, l.Build})
}

func labelArgs(option string, pairs [][2]string) []string {
	var args []string
	for _, p := range pairs {
		args = append(args, option, p[0]+"="+p[1])
	}
	return args
}

// BuildOptions are the inputs of a docker build.
type BuildOptions struct {
	BuildPath  string   // the checkout, also the build context
	Dockerfile string   // relative to BuildPath
	Pull       bool     // --pull
	Cache      bool     // false adds --no-cache
	Tag        string   // "" for none
	Label      string   // the project's own label, "" for none
	Labels     Labels   // pipelined.*
	BuildArgs  []string // names only; values come through the environment
	IIDFile    string   // where docker writes the image id
}

// BuildArgs is the docker build command line of SPEC §7.1.
func BuildArgs(o BuildOptions) []string {
	args := []string{"docker", "build", "--rm", "--force-rm", "--file", filepath.Join(o.BuildPath, o.Dockerfile)}
	if o.Pull {
		args = append(args, "--pull")
	}
	if !o.Cache {
		args = append(args, "--no-cache")
	}
	if o.Tag != "" {
		args = append(args, "--tag", o.Tag)
	}
	if o.Label != "" {
		args = append(args, "--label", o.Label)
	}
	args = append(args, labelArgs("--label", o.Labels.imageLabels())...)
	for _, name := range o.BuildArgs {
		args = append(args, "--build-arg", name)
	}
	return append(args, "--iidfile", o.IIDFile, "--", o.BuildPath)
}

// RunOptions are the inputs of a docker run.
type RunOptions struct {
	BuildPath      string // mounted at /build
	DropPath       string // mounted at /drop
	Name           string // container name
	ReadOnly       bool
	DockerInDocker bool // mount the docker socket
	Label          string
	Labels         Labels
	TmpfsPercent   int      // 0 for no tmpfs
	Env            []string // names only
	Image          string
}

// DockerSocket is mounted into the container only with docker_in_docker.
const DockerSocket = "/var/run/docker.sock"

// RunArgs is the docker run command line of SPEC §7.1, for an engine that shares this
// host's file system: the checkout and the artifacts are bind-mounted.
func RunArgs(o RunOptions) []string {
	args := []string{"docker", "run", "--rm", "--pull", "never",
		"-v", o.BuildPath + ":/build:rw", "-v", o.DropPath + ":/drop:rw", "--name", o.Name}
	return append(args, o.containerFlags()...)
}

// CreateArgs creates the container of a run on an engine elsewhere, which cannot see this
// host's files: /build and /drop are volumes of the container's own, filled and emptied
// with docker cp (CopyInArgs, CopyOutArgs). The other flags are those of RunArgs.
func CreateArgs(o RunOptions) []string {
	args := []string{"docker", "create", "--pull", "never", "-v", "/build", "-v", "/drop", "--name", o.Name}
	return append(args, o.containerFlags()...)
}

// containerFlags are the flags RunArgs and CreateArgs share, and the image.
func (o RunOptions) containerFlags() []string {
	var args []string
	if o.ReadOnly {
		args = append(args, "--read-only")
	}
	if o.DockerInDocker {
		args = append(args, "-v", DockerSocket+":"+DockerSocket)
	}
	if o.Label != "" {
		args = append(args, "--label", o.Label)
	}
	args = append(args, labelArgs("--label", o.Labels.containerLabels())...)
	if o.TmpfsPercent > 0 {
		args = append(args, "--tmpfs", "/tmp:size="+strconv.Itoa(o.TmpfsPercent)+"%,mode=1777,rw,relatime")
	}
	for _, name := range o.Env {
		args = append(args, "--env", name)
	}
	return append(args, "--", o.Image)
}

// CopyInArgs copies the checkout into the container's /build.
func CopyInArgs(buildPath, name string) []string {
	return []string{"docker", "cp", "--", buildPath + "/.", name + ":/build"}
}

// StartArgs starts a created container with its output attached; it exits with the
// container's status.
func StartArgs(name string) []string { return []string{"docker", "start", "--attach", name} }

// WaitArgs waits for a container to stop and prints its exit status.
func WaitArgs(name string) []string { return []string{"docker", "wait", name} }

// CopyOutArgs copies the container's /drop into the build's artifacts directory.
func CopyOutArgs(name, dropPath string) []string {
	return []string{"docker", "cp", "--", name + ":/drop/.", dropPath}
}

// RemoveWithVolumesArgs removes a container and its anonymous volumes (/build, /drop).
func RemoveWithVolumesArgs(name string) []string { return []string{"docker", "rm", "-f", "-v", name} }

// StopArgs stops a container, killing it after grace seconds (SPEC §7.4).
func StopArgs(name string, graceSeconds int) []string {
	return []string{"docker", "stop", "--time", strconv.Itoa(graceSeconds), name}
}

// RemoveArgs removes a container, running or not.
func RemoveArgs(name string) []string { return []string{"docker", "rm", "-f", name} }

// IntermediateArgs lists the ids of the containers that carry all of an image's labels:
// docker build's intermediate containers have them, and an interrupted build may leave one.
func IntermediateArgs(l Labels) []string {
	return append([]string{"docker", "ps", "--all", "--quiet"}, labelArgs("--filter", prefixLabel(l.imageLabels()))...)
}

func prefixLabel(pairs [][2]string) [][2]string {
	out := make([][2]string, len(pairs))
	for i, p := range pairs {
		out[i] = [2]string{"label=" + p[0], p[1]}
	}
	return out
}

// BuildContainersArgs lists the ids of the containers of one build directory.
func BuildContainersArgs(buildDir string) []string {
	return []string{"docker", "ps", "--all", "--quiet", "--filter", "label=" + LabelBuild + "=" + buildDir}
}

// ListArgs lists the containers of a work directory as NAME<TAB>BUILD-DIRECTORY<TAB>JOB
// lines (an intermediate container of docker build has no build directory).
func ListArgs(workdir string) []string {
	return []string{"docker", "ps", "--all", "--no-trunc", "--filter", "label=" + LabelWorkdir + "=" + workdir,
		"--format", `{{.Names}}	{{.Label "` + LabelBuild + `"}}	{{.Label "` + LabelJob + `"}}`}
}

// ContainerName is PROJECT-SHORTCOMMIT made unique for one build directory: two builds of
// the same commit (a branch and a tag, or a rebuild) never share a container name. Project
// names are already valid in container names (workdir.ValidProjectName).
func ContainerName(project, shortCommit, buildDir string) string {
	sum := sha256.Sum256([]byte(buildDir))
	return fmt.Sprintf("%s-%s-%s", project, shortCommit, hex.EncodeToString(sum[:3]))
}

// CheckMountPath refuses paths that docker's -v syntax cannot carry.
func CheckMountPath(path string) error {
	if strings.ContainsAny(path, ":,") {
		return fmt.Errorf("%s contains ':' or ',', which docker -v cannot mount; use a work directory without them", path)
	}
	return nil
}

// VersionArgs asks the engine for its version: it answers, or it does not.
func VersionArgs() []string {
	return []string{"docker", "version", "--format", "{{.Server.Version}}"}
}

// ImageLabelsArgs prints the pipelined.* labels of an image as
// WORKDIR<TAB>PROJECT<TAB>REF<TAB>COMMIT<TAB>JOB, then a tab and its tags as a JSON list.
func ImageLabelsArgs(id string) []string {
	format := ""
	for _, key := range []string{LabelWorkdir, LabelProject, LabelRef, LabelCommit, LabelJob} {
		format += `{{index .Config.Labels "` + key + `"}}` + "\t"
	}
	return []string{"docker", "image", "inspect", "--format", format + "{{json .RepoTags}}", "--", id}
}

// ImageLabels is what ImageLabelsArgs prints for an image a build with these labels made.
func (l Labels) ImageLabels() string {
	return strings.Join([]string{l.Workdir, l.Project, l.Ref, l.Commit, l.Job}, "\t")
}

// ImageUsersArgs lists the containers, running or not, made from an image.
func ImageUsersArgs(id string) []string {
	return []string{"docker", "ps", "--all", "--quiet", "--filter", "ancestor=" + id}
}

// RemoveImageArgs removes an image by id; without --force, docker refuses one in use.
func RemoveImageArgs(id string) []string { return []string{"docker", "image", "rm", "--", id} }
