package git

import (
	"strings"
	"testing"
	"time"
)

// The command lines of SPEC §6 and §7.1, with the placeholders filled in.
func TestCommandLinesAreThoseOfTheSpec(t *testing.T) {
	cases := []struct {
		got  []string
		want string
	}{
		{LsRemoteArgs("git@host:p.git"), "git --no-pager ls-remote --heads --tags --refs --quiet -- git@host:p.git"},
		{CloneArgs("/w/p/r/c.tmp", "/srv/p.git", false, "main"),
			"git --no-pager -C /w/p/r/c.tmp clone --no-local --no-hardlinks --recurse-submodules --verbose -- /srv/p.git build"},
		{CloneArgs("/w/p/r/c.tmp", "/srv/p.git", true, "v1.0"),
			"git --no-pager -C /w/p/r/c.tmp clone --no-local --no-hardlinks --recurse-submodules --verbose --depth 1 --shallow-submodules --no-tags --single-branch --branch v1.0 -- /srv/p.git build"},
		{CheckoutArgs("/w/b", "0123"), "git --no-pager -C /w/b -c advice.detachedHead=false checkout --recurse-submodules --force --no-guess --detach 0123"},
		{FetchCommitArgs("/w/b", "0123"), "git --no-pager -C /w/b fetch --depth 1 origin 0123"},
	}
	for _, tc := range cases {
		if got := strings.Join(tc.got, " "); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

func TestParseLsRemote(t *testing.T) {
	c1, c2 := strings.Repeat("a", 40), strings.Repeat("b", 64)
	out := c1 + "\trefs/heads/main\n" + c2 + "\trefs/tags/v1\n" +
		c1 + "\trefs/heads/-evil\n" + "garbage line\n" + c1 + "\trefs/pull/1/head\n"
	refs, problems := ParseLsRemote([]byte(out))
	if len(refs) != 2 || refs[0] != (Ref{"refs/heads/main", c1}) || refs[1] != (Ref{"refs/tags/v1", c2}) {
		t.Errorf("refs = %v", refs)
	}
	if len(problems) != 3 {
		t.Errorf("problems = %q, want 3", problems)
	}
}

func TestSafeEnvKeepsGitFromPrompting(t *testing.T) {
	env := SafeEnv([]string{"PATH=/bin", "GIT_ASKPASS=/usr/bin/ksshaskpass", "GIT_TERMINAL_PROMPT=1"})
	joined := strings.Join(env, "\n")
	for _, want := range []string{"PATH=/bin", "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS_REQUIRE=never", "GIT_SSH_COMMAND=ssh -o BatchMode=yes"} {
		if !strings.Contains(joined, want) {
			t.Errorf("SafeEnv lacks %q: %q", want, env)
		}
	}
	if strings.Contains(joined, "ksshaskpass") || strings.Contains(joined, "PROMPT=1") {
		t.Errorf("SafeEnv kept a prompting setting: %q", env)
	}
	own := SafeEnv([]string{"GIT_SSH_COMMAND=ssh -i /keys/deploy"})
	if n := strings.Count(strings.Join(own, "\n"), "GIT_SSH_COMMAND"); n != 1 {
		t.Errorf("the operator's GIT_SSH_COMMAND was replaced: %q", own)
	}
}

func TestSafeEnvAddsConnectionSharingToPlainSSHCommands(t *testing.T) {
	opts := SharedSSH("/w/.pipelined/ssh", 2*time.Minute)
	if len(opts) == 0 {
		t.Fatal("no sharing options for a short directory")
	}
	def := strings.Join(SafeEnv(nil, opts...), "\n")
	if !strings.Contains(def, "GIT_SSH_COMMAND=ssh -o BatchMode=yes -o ConnectTimeout=30 -o ControlMaster=auto -o ControlPath=/w/.pipelined/ssh/%C -o ControlPersist=120") {
		t.Errorf("default ssh command without sharing: %s", def)
	}
	own := strings.Join(SafeEnv([]string{"GIT_SSH_COMMAND=ssh -i /keys/deploy"}, opts...), "\n")
	if !strings.Contains(own, "GIT_SSH_COMMAND=ssh -i /keys/deploy -o ControlMaster=auto") {
		t.Errorf("the operator's ssh command did not get sharing: %s", own)
	}
	wrapper := strings.Join(SafeEnv([]string{"GIT_SSH_COMMAND=/usr/local/bin/my-ssh"}, opts...), "\n")
	if strings.Contains(wrapper, "ControlMaster") {
		t.Errorf("options were added to a wrapper that may not be ssh: %s", wrapper)
	}
	if SharedSSH("/"+strings.Repeat("x", 80), time.Minute) != nil {
		t.Error("sharing for a control path too long for a socket")
	}
}

// TestPullRequestCommandLines: a request's head is fetched by its ref, and cloned without --branch.
func TestPullRequestCommandLines(t *testing.T) {
	want := "git --no-pager -C /b fetch --no-tags --depth 1 origin refs/pull/3/head"
	if got := strings.Join(FetchRefArgs("/b", "refs/pull/3/head", true), " "); got != want {
		t.Errorf("FetchRefArgs = %s", got)
	}
	if got := strings.Join(CloneArgs("/r", "u", true, ""), " "); strings.Contains(got, "--branch") || !strings.Contains(got, "--depth 1") {
		t.Errorf("CloneArgs of a request = %s", got)
	}
}
