package forge

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"pipelined/internal/config"
)

func TestTokenSources(t *testing.T) {
	dir := t.TempDir()
	creds := t.TempDir()
	os.WriteFile(filepath.Join(creds, "gh"), []byte("  from-credentials\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "gh"), []byte("beside-the-config"), 0o600)
	os.WriteFile(filepath.Join(dir, "two"), []byte("a b"), 0o600)
	os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600)
	f := config.Forge{TokenFile: "gh", BaseDir: dir}

	t.Setenv("CREDENTIALS_DIRECTORY", "")
	if tok, err := Token(f); tok != "beside-the-config" || err != nil {
		t.Errorf("relative without $CREDENTIALS_DIRECTORY: %q, %v", tok, err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	if tok, err := Token(f); tok != "from-credentials" || err != nil {
		t.Errorf("relative with $CREDENTIALS_DIRECTORY: %q, %v", tok, err)
	}
	t.Setenv("PIPELINED_TEST_TOKEN", "from-env")
	if tok, err := Token(config.Forge{TokenEnv: "PIPELINED_TEST_TOKEN"}); tok != "from-env" || err != nil {
		t.Errorf("token_env: %q, %v", tok, err)
	}
	for name, f := range map[string]config.Forge{
		"missing":  {TokenFile: filepath.Join(dir, "nope")},
		"two":      {TokenFile: filepath.Join(dir, "two")},
		"empty":    {TokenFile: filepath.Join(dir, "empty")},
		"a FIFO":   {TokenFile: "/dev/stdin"},
		"unset":    {TokenEnv: "PIPELINED_TEST_UNSET"},
		"no place": {},
	} {
		if tok, err := Token(f); err == nil || tok != "" || strings.Contains(err.Error(), "a b") {
			t.Errorf("%s: %q, %v", name, tok, err)
		}
	}
}

func TestTokensNeverReachABuild(t *testing.T) {
	cfg, err := config.Parse(strings.NewReader("[a]\nremote = git@github.com:o/a.git\nforge = github\nforge.token_env = GH_TOKEN\n[b]\nremote = git@github.com:o/b.git\nforge = github\nforge.token_env = OTHER_TOKEN\n[c]\nremote = /r\n"), "c.ini")
	if err != nil {
		t.Fatal(err)
	}
	got := WithoutTokens([]string{"PATH=/bin", "GH_TOKEN=x", "OTHER_TOKEN=y", "HOME=/root"}, cfg)
	if !slices.Equal(got, []string{"PATH=/bin", "HOME=/root"}) {
		t.Errorf("WithoutTokens = %v", got)
	}
}
