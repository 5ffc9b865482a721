package forgehttp

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"pipelined/internal/config"
	"pipelined/internal/forge"
)

// Each forge's documented states (GitHub REST "Create a commit status"; Gitea's
// CommitStatusState; GitLab "Set the pipeline status of a commit").
var documentedStates = map[string][]string{
	config.ForgeGitHub: {"error", "failure", "pending", "success"},
	config.ForgeGitea:  {"pending", "success", "error", "failure", "warning"},
	config.ForgeGitLab: {"pending", "running", "success", "failed", "canceled"},
}

// checkStatusRequest holds a request against the forge's documented status API.
func checkStatusRequest(t *testing.T, kind string, r gotRequest) {
	t.Helper()
	want := map[string]struct {
		path   string
		header map[string]string
		keys   []string // the body's keys the API knows
	}{
		config.ForgeGitHub: {"/repos/octo/app/statuses/" + testCommit,
			map[string]string{"Authorization": "Bearer " + testToken, "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
			[]string{"state", "target_url", "description", "context"}},
		config.ForgeGitea: {"/api/v1/repos/octo/app/statuses/" + testCommit,
			map[string]string{"Authorization": "token " + testToken},
			[]string{"state", "target_url", "description", "context"}},
		config.ForgeGitLab: {"/api/v4/projects/group%2Fsub%2Fapp/statuses/" + testCommit,
			map[string]string{"PRIVATE-TOKEN": testToken},
			[]string{"state", "ref", "name", "target_url", "description"}},
	}[kind]
	if r.Method != "POST" || r.Path != want.path {
		t.Errorf("%s: %s %s, want POST %s", kind, r.Method, r.Path, want.path)
	}
	want.header["Content-Type"] = "application/json"
	want.header["User-Agent"] = "pipelined"
	for k, v := range want.header {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s: header %s = %q, want %q", kind, k, got, v)
		}
	}
	for k := range r.Body {
		if !slices.Contains(want.keys, k) {
			t.Errorf("%s: the body has %q, which the API does not know", kind, k)
		}
	}
	if !slices.Contains(documentedStates[kind], r.Body["state"]) {
		t.Errorf("%s: state %q is not one the forge takes", kind, r.Body["state"])
	}
	if n := utf8.RuneCountInString(r.Body["description"]); n > forge.DescriptionLimit(kind) || n == 0 {
		t.Errorf("%s: a description of %d characters", kind, n)
	}
	label := map[bool]string{true: "name", false: "context"}[kind == config.ForgeGitLab]
	if r.Body[label] != "pipelined/app" {
		t.Errorf("%s: %s = %q, want pipelined/app", kind, label, r.Body[label])
	}
	if r.Body["target_url"] != "https://ci.example.org/app/01234567" {
		t.Errorf("%s: target_url = %q", kind, r.Body["target_url"])
	}
}

// TestStateTableWalk sends every state to each forge, as the Sender sends it, and holds each
// request against the forge's API: every state maps to exactly one forge state.
func TestStateTableWalk(t *testing.T) {
	want := map[forge.State][3]string{ // github, gitea, gitlab
		forge.Started: {"pending", "pending", "running"}, forge.Succeeded: {"success", "success", "success"},
		forge.Failed: {"failure", "failure", "failed"}, forge.Skipped: {"error", "error", "canceled"},
		forge.Canceled: {"error", "error", "canceled"}, forge.Interrupted: {"pending", "pending", "pending"},
		forge.Retrying: {"pending", "pending", "pending"}, forge.SetAside: {"error", "error", "failed"},
		forge.Broken: {"error", "error", "failed"},
	}
	if len(want) != len(forge.States) {
		t.Fatalf("forge.States has %d states, this test %d", len(forge.States), len(want))
	}
	for _, st := range forge.States {
		for _, kind := range []string{config.ForgeGitHub, config.ForgeGitea, config.ForgeGitLab} {
			if _, err := forge.ForgeState(kind, st); err != nil {
				t.Errorf("%s on %s: %v", st, kind, err)
			}
		}
	}
	long := strings.Repeat("ä", 300) // multi-byte: cut by characters, not bytes
	for i, kind := range []string{config.ForgeGitHub, config.ForgeGitea, config.ForgeGitLab} {
		t.Run(kind, func(t *testing.T) {
			f := newFakeForge(t, nil)
			s := newSite(t, kind, f.srv.URL, "")
			snd := s.sender(SenderOptions{})
			for j, state := range forge.States {
				s.enqueue(t, state, long, time.Now().Add(time.Duration(j)*time.Millisecond))
				if left, _ := snd.Pass(context.Background()); left != 0 {
					t.Fatalf("%s: %d records left", state, left)
				}
				got := f.requests()
				if len(got) != j+1 {
					t.Fatalf("%s: %d requests, want %d", state, len(got), j+1)
				}
				checkStatusRequest(t, kind, got[j])
				if got[j].Body["state"] != want[state][i] {
					t.Errorf("%s on %s: %q, want %q", state, kind, got[j].Body["state"], want[state][i])
				}
				if d := got[j].Body["description"]; !strings.HasSuffix(d, "…") || !utf8.ValidString(d) {
					t.Errorf("the description was not cut by characters: %q", d)
				}
			}
			if kind == config.ForgeGitLab && f.requests()[0].Body["ref"] != "main" {
				t.Errorf("gitlab: ref = %q, want the branch name", f.requests()[0].Body["ref"])
			}
			s.checkNoToken(t)
		})
	}
	if _, err := forge.ForgeState(config.ForgeGitHub, forge.State("bogus")); err == nil {
		t.Error("a state outside the table was mapped")
	}
	if _, err := forge.ForgeState("bitbucket", forge.Started); err == nil {
		t.Error("an unknown forge was mapped")
	}
}

func TestGitLabLeavesOutATargetURLItWouldRefuse(t *testing.T) {
	f := newFakeForge(t, nil)
	s := newSite(t, config.ForgeGitLab, f.srv.URL, "")
	s.project().Forge.TargetURL = "https://ci.example.org/" + strings.Repeat("x", 300)
	s.enqueue(t, forge.Started, "building", time.Now())
	s.sender(SenderOptions{}).Pass(context.Background())
	if got := f.requests(); len(got) != 1 || got[0].Body["target_url"] != "" {
		t.Errorf("requests %v: want one, without target_url", got)
	}
}
