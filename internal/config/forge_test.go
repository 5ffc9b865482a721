package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestForgeKeysAndTheirDefaults(t *testing.T) {
	abs, _ := filepath.Abs(".")
	cases := []struct {
		name, src string
		want      Forge
	}{
		{"github from any remote", "remote = git@github.com:octo/app.git\nforge = github\nforge.token_env = GH_TOKEN\n",
			Forge{Kind: "github", URL: "https://api.github.com", Repo: "octo/app", TokenEnv: "GH_TOKEN", BaseDir: abs, Context: "pipelined/${BUILD_PROJECT}"}},
		{"gitea from an http remote with a port and credentials", "remote = http://ci:pw@127.0.0.1:3000/alice/web.git\nforge = gitea\nforge.token_file = gitea.token\n",
			Forge{Kind: "gitea", URL: "http://127.0.0.1:3000", Repo: "alice/web", TokenFile: "gitea.token", BaseDir: abs, Context: "pipelined/${BUILD_PROJECT}"}},
		{"gitlab subgroups below a path prefix", "remote = https://example.org/gitlab/group/sub/app.git\nforge = gitlab\nforge.url = https://example.org/gitlab/\nforge.token_env = GL\nforge.context = ci/${BUILD_REF_NAME}\nforge.target_url = https://ci.example.org/${BUILD_PROJECT}/\n",
			Forge{Kind: "gitlab", URL: "https://example.org/gitlab", Repo: "group/sub/app", TokenEnv: "GL", BaseDir: abs, Context: "ci/${BUILD_REF_NAME}", TargetURL: "https://ci.example.org/${BUILD_PROJECT}/"}},
		{"gitlab by numeric id", "remote = ssh://git@example.org/x/y.git\nforge = gitlab\nforge.url = https://example.org\nforge.repo = 42\nforge.token_env = GL\n",
			Forge{Kind: "gitlab", URL: "https://example.org", Repo: "42", TokenEnv: "GL", BaseDir: abs, Context: "pipelined/${BUILD_PROJECT}"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parse("[web]\n" + tc.src)
			if err != nil {
				t.Fatal(err)
			}
			p := cfg.Projects[0]
			if p.Forge != tc.want {
				t.Errorf("got %+v,\nwant %+v", p.Forge, tc.want)
			}
			if p.Value("forge.url") != tc.want.URL || p.Value("forge.repo") != tc.want.Repo {
				t.Errorf("Dump would write forge.url %q and forge.repo %q", p.Value("forge.url"), p.Value("forge.repo"))
			}
		})
	}
}

func TestWithoutForgeNothingChanges(t *testing.T) {
	cfg, err := parse("[web]\nremote = /r\nbranches = main\n")
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Projects[0]; p.Forge != (Forge{Context: "pipelined/${BUILD_PROJECT}"}) || p.PullRequests || p.PullRequestSecrets {
		t.Errorf("a project without forge has %+v", p.Forge)
	}
}

func TestBadForgeKeysAreRefusedWithTheirLine(t *testing.T) {
	const token = "ghp_s3cr3tv4lue"
	cases := []struct {
		name, src, key, msg string
		line                int
	}{
		{"a token in the INI", "forge = github\nforge.token_env = T\nforge.token = " + token + "\n", "forge.token", "never written into the configuration file", 5},
		{"no token", "forge = github\n", "forge", "needs a token", 3},
		{"two tokens", "forge = github\nforge.token_env = T\nforge.token_file = /t\n", "forge.token_env", "both set", 4},
		{"a bad variable name", "forge = github\nforge.token_env = 1X\n", "forge.token_env", "not the name of a variable", 4},
		{"an unknown forge", "forge = bitbucket\nforge.token_env = T\n", "forge", "not a forge", 3},
		{"gitea from an ssh remote", "forge = gitea\nforge.token_env = T\n", "forge", "forge.url is needed", 3},
		{"credentials in the URL", "forge = gitea\nforge.url = https://u:" + token + "@h\nforge.token_env = T\n", "forge.url", "credentials", 4},
		{"not a URL", "forge = gitea\nforge.url = h:3000\nforge.token_env = T\n", "forge.url", "not an http(s) URL", 4},
		{"a repository of three parts", "forge = github\nforge.repo = a/b/c\nforge.token_env = T\n", "forge.repo", "not a repository of github", 4},
		{"an env value in the context", "forge = github\nforge.token_env = T\nforge.context = ci/$HOME\n", "forge.context", "unknown variable $HOME", 5},
		{"a target URL that is not http(s)", "forge = github\nforge.token_env = T\nforge.target_url = ci/${BUILD_COMMIT}\n", "forge.target_url", "must start with http:// or https://", 5},
		{"an empty context", "forge = github\nforge.token_env = T\nforge.context =\n", "forge.context", "is empty", 5},
		{"pull requests without a forge", "pull_requests = True\n", "pull_requests", "needs forge", 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse("[web]\nremote = git@github.com:o/r.git\n" + tc.src)
			if err == nil {
				t.Fatal("loaded")
			}
			found := false
			for _, e := range Problems(err) {
				ce := e.(*Error)
				if ce.Key == tc.key && ce.Line == tc.line && ce.Section == "web" && ce.File == "c.ini" && strings.Contains(ce.Msg, tc.msg) {
					found = true
				}
				if strings.Contains(e.Error(), token) {
					t.Errorf("%q shows the token", e)
				}
			}
			if !found {
				t.Errorf("want %s at line %d saying %q, got %v", tc.key, tc.line, tc.msg, err)
			}
		})
	}
}

// TestAnOlderHelperNamedForgeStillLoads: a file that used "forge" as a helper key before it
// was a key means what it meant then, with a warning.
func TestAnOlderHelperNamedForgeStillLoads(t *testing.T) {
	cfg, err := parse("[DEFAULT]\nforge = https://git.example.com\n[shop]\nremote = %(forge)s/shop.git\nbranches = main\n")
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Projects[0]; p.Forge.Kind != "" || p.Remote != "https://git.example.com/shop.git" {
		t.Errorf("got forge %q, remote %q", p.Forge.Kind, p.Remote)
	}
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0].Msg, "rename the helper key") {
		t.Errorf("warnings %v", cfg.Warnings)
	}
}

// TestARelativeTokenFileOfASnapshotIsTheOriginals: pipeline-build and pipeline-watch read
// the daemon's snapshot of the file (WORKDIR/.pipelined/config.ini); a relative
// forge.token_file is still next to the operator's file, as env_file is.
func TestARelativeTokenFileOfASnapshotIsTheOriginals(t *testing.T) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "etc", "pipelined.ini")
	snap := filepath.Join(dir, "work", "config.ini")
	os.MkdirAll(filepath.Dir(snap), 0o755)
	src := []byte("[app]\nremote = https://h/o/app.git\nforge = gitea\nforge.token_file = gitea-token\n")
	if err := os.WriteFile(snap, Snapshot(src, orig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(snap)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Projects[0].Forge.BaseDir; got != filepath.Dir(orig) {
		t.Errorf("BaseDir = %s, want %s", got, filepath.Dir(orig))
	}
}
