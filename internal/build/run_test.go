package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pipelined/internal/buildlog"
	"pipelined/internal/config"
	"pipelined/internal/engine"
	"pipelined/internal/env"
	"pipelined/internal/exitcode"
	"pipelined/internal/outcome"
	"pipelined/internal/spool"
	"pipelined/internal/testenv"
	"pipelined/internal/workdir"
)

// TestSetUpFailedSortsTheErrors: bad input is a usage error, a ref the remote lacks a failed
// build, anything else an infrastructure error that is retried; a build directory already
// made records the failure.
func TestSetUpFailedSortsTheErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		code    int
		summary string
	}{
		{"usage", exitcode.Usagef("project %q is not in %s", "app", "/etc/pipelined.conf"), exitcode.Usage, ""},
		{"configuration", &config.Error{File: "/etc/pipelined.conf", Line: 3, Msg: "bad"}, exitcode.Usage, ""},
		{"no such ref", &noSuchRef{errors.New("no ref nope")}, exitcode.Failure, "pipeline-build: app nope: failed (no ref nope)\n"},
		{"the disk", fmt.Errorf("creating the build directory: %w", os.ErrPermission), exitcode.Retry, ""},
	} {
		var summary bytes.Buffer
		b := &builder{o: Options{Project: "app", Ref: "nope", Summary: &summary}}
		err := b.setUpFailed(tc.err)
		if got := exitcode.Of(err); got != tc.code {
			t.Errorf("%s: exit status %d (%v), want %d", tc.name, got, err, tc.code)
		}
		if summary.String() != tc.summary {
			t.Errorf("%s: summary %q, want %q", tc.name, summary.String(), tc.summary)
		}
	}

	b := newTestBuilder(t, &config.Project{Name: "app"})
	b.layout = workdir.Layout{Root: t.TempDir()}
	b.status.Result = outcome.Running
	err := b.setUpFailed(errors.New("reading the job: input/output error"))
	st, lerr := buildlog.LoadStatus(workdir.StatusPath(b.dir))
	if lerr != nil || exitcode.Of(err) != exitcode.Retry || st.Result != outcome.Failed || !st.Retry ||
		st.Reason != "reading the job: input/output error" || st.Finished.IsZero() {
		t.Errorf("a build directory already made: %v; build.json %+v (%v)", err, st, lerr)
	}
}

// writeConfig writes a configuration file of text.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pipelined.conf")
	if err := os.WriteFile(path, []byte(text), 0o666); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSetUpRefusesAProjectItCannotBuild: a project not in the configuration, or disabled,
// is a usage error before anything is made.
func TestSetUpRefusesAProjectItCannotBuild(t *testing.T) {
	cfg := writeConfig(t, "[off]\nremote = /srv/git/off.git\nenabled = False\n")
	for _, project := range []string{"missing", "off"} {
		wd := t.TempDir()
		b := &builder{o: Options{Config: cfg, Workdir: wd, Project: project, Ref: "main"}}
		err := b.setUp(context.Background(), nil)
		if exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), project) {
			t.Errorf("%s: setUp = %v, want a usage error naming it", project, err)
		}
		if entries, _ := os.ReadDir(wd); len(entries) != 0 || b.status != nil {
			t.Errorf("%s: setUp made %v", project, entries)
		}
	}
}

// TestSetUpMakesTheBuildDirectory: a resolved ref gets its build directory with build.json,
// drop/ and build.log, which names the engine and the ls-remote; an env_file that cannot be
// read leaves no environment, and its error as the reason error_callback gets.
func TestSetUpMakesTheBuildDirectory(t *testing.T) {
	repo := testenv.NewRepo(t, nil)
	cfg := writeConfig(t, fmt.Sprintf("[app]\nremote = %s\nenv_file = /nonexistent/app.env\n", repo.Remote))
	b := &builder{o: Options{Config: cfg, Workdir: t.TempDir(), Project: "app", Ref: "main",
		Engine: engine.Engine{Name: "builder2", Host: "ssh://ci@builder2"}}}
	if err := b.setUp(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	defer b.log.Close()
	if b.ref != "refs/heads/main" || b.commit != repo.Head() || !strings.HasSuffix(b.dir, workdir.TmpSuffix) {
		t.Errorf("ref %s, commit %s, dir %s", b.ref, b.commit, b.dir)
	}
	st, err := buildlog.LoadStatus(workdir.StatusPath(b.dir))
	if err != nil || st.Result != outcome.Running || st.Source != spool.SourceManual || st.Engine != "builder2" ||
		st.DockerHost != "ssh://ci@builder2" || st.PID != os.Getpid() || !strings.Contains(st.Reason, "app.env") {
		t.Errorf("build.json: %+v (%v)", st, err)
	}
	if info, err := os.Stat(workdir.DropPath(b.dir)); err != nil || !info.IsDir() {
		t.Errorf("drop/: %v", err)
	}
	log := b.log.Since(0, 1<<16)
	for _, want := range []string{"engine builder2 (ssh://ci@builder2)", "ls-remote", "refs/heads/main is at " + b.commit} {
		if !strings.Contains(log, want) {
			t.Errorf("build.log lacks %q:\n%s", want, log)
		}
	}
	if b.env != nil {
		t.Errorf("an env_file that cannot be read left an environment")
	}
}

// TestEnvironmentKeepsSecretsFromPullRequests: a pull request's build gets env and env_file
// only when the project allows it; any other build gets them.
func TestEnvironmentKeepsSecretsFromPullRequests(t *testing.T) {
	inline := []env.Var{{Name: "TOKEN", Value: "s3cret"}}
	for _, tc := range []struct {
		ref     string
		allowed bool
		secrets bool
	}{
		{"refs/heads/main", false, true},
		{"refs/tags/v1", false, true},
		{"refs/pull/7/head", false, false},
		{"refs/merge-requests/7/head", false, false},
		{"refs/pull/7/head", true, true},
	} {
		b := &builder{project: &config.Project{EnvFile: "/etc/app.env", Env: inline, PullRequestSecrets: tc.allowed}}
		_, envFile, got := b.environment(&config.Config{}, tc.ref)
		wantFile, wantEnv := "", 0
		if tc.secrets {
			wantFile, wantEnv = "/etc/app.env", 1
		}
		if envFile != wantFile || len(got) != wantEnv {
			t.Errorf("%s (allowed %v): env_file %q, env %v; want secrets %v", tc.ref, tc.allowed, envFile, got, tc.secrets)
		}
	}
}

// TestSetRuntimeEnvNamesTheRef: BUILD_BRANCH, BUILD_TAG or BUILD_PULL_REQUEST, only the one
// that applies even when the project's environment set another; the chosen engine's host
// wins over the project's DOCKER_HOST.
func TestSetRuntimeEnvNamesTheRef(t *testing.T) {
	kinds := []string{env.BuildBranch, env.BuildTag, env.BuildPullRequest}
	for _, tc := range []struct {
		ref, name, value string
	}{
		{"refs/heads/feature/x", env.BuildBranch, "feature/x"},
		{"refs/tags/v1.2", env.BuildTag, "v1.2"},
		{"refs/pull/42/head", env.BuildPullRequest, "42"},
	} {
		b := newTestBuilder(t, &config.Project{Name: "app", Remote: "/srv/git/app.git"})
		b.ref = tc.ref
		b.env = env.Compose([]string{"BUILD_TAG=stale", "DOCKER_HOST=unix:///project.sock"}, nil, nil)
		b.o.Engine = engine.Engine{Name: "builder2", Host: "ssh://ci@builder2"}
		b.setRuntimeEnv()
		for _, k := range kinds {
			v, ok := b.env.Lookup(k)
			if want := k == tc.name; ok != want || want && v != tc.value {
				t.Errorf("%s: %s = %q (set %v)", tc.ref, k, v, ok)
			}
		}
		for name, want := range map[string]string{
			env.BuildRef: tc.ref, env.BuildProject: "app", env.BuildCommit: b.commit, env.BuildShortCommit: b.short,
			env.BuildEngine: "builder2", "DOCKER_HOST": "ssh://ci@builder2",
			env.BuildPath: workdir.CheckoutPath(b.dir), env.BuildLog: workdir.LogPath(b.dir),
		} {
			if v, _ := b.env.Lookup(name); v != want {
				t.Errorf("%s: %s = %q, want %q", tc.ref, name, v, want)
			}
		}
	}
}

// TestSummaryLine: one line naming the build, its result, the reason and the directory.
func TestSummaryLine(t *testing.T) {
	var out bytes.Buffer
	b := &builder{o: Options{Summary: &out}, project: &config.Project{Name: "app"}, ref: "refs/heads/main", short: "1a2b3c4", dir: "/w/app/main/1a2b3c4"}
	b.summary(outcome.Failed, "clone: git exited with status 128")
	b.summary(outcome.Success, "")
	want := "pipeline-build: app refs/heads/main 1a2b3c4: failed (clone: git exited with status 128); see /w/app/main/1a2b3c4\n" +
		"pipeline-build: app refs/heads/main 1a2b3c4: success; see /w/app/main/1a2b3c4\n"
	if out.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", out.String(), want)
	}
	if got := orResult("", outcome.Canceled); got != outcome.Canceled {
		t.Errorf("orResult without a reason = %q", got)
	}
}
