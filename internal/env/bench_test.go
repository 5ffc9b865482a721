package env

import (
	"fmt"
	"testing"
)

// BenchmarkBuildEnvironment assembles a build's environment as pipeline-build does: the
// process's, a project's variables, the runtime ones, then the list for a command and the
// names for docker.
func BenchmarkBuildEnvironment(b *testing.B) {
	var process []string
	for i := 0; i < 40; i++ {
		process = append(process, fmt.Sprintf("PROCESS_%d=value-%d", i, i))
	}
	var project []Var
	for i := 0; i < 20; i++ {
		project = append(project, Var{fmt.Sprintf("PROJECT_%d", i), fmt.Sprintf("secret-%d", i)})
	}
	for b.Loop() {
		e := Compose(process, project[:10], project[10:])
		for _, name := range []string{BuildProject, BuildRemote, BuildRef, BuildRefName, BuildBranch, BuildCommit,
			BuildShortCommit, BuildRunPath, BuildPath, BuildDropPath, BuildLog} {
			e.Set(name, "some value of a runtime variable")
		}
		if len(e.List()) != 71 || len(e.DockerNames()) != 31 {
			b.Fatal(len(e.List()), len(e.DockerNames()))
		}
	}
}
