package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// IsolatedGitEnv is the test's environment without what makes git behave differently from
// machine to machine (proxies, GIT_ variables, the machine's CA settings, HOME), with a
// HOME and a global git configuration (holding global) of the test's own, no system
// configuration, and vars.
func IsolatedGitEnv(t testing.TB, global string, vars ...string) []string {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasSuffix(strings.ToLower(name), "_proxy"), strings.HasPrefix(name, "GIT_"),
			strings.HasPrefix(name, "SSL_CERT_"), strings.HasPrefix(name, "GNUTLS_"), strings.HasPrefix(name, "CURL_"),
			name == "HOME", name == "XDG_CONFIG_HOME", name == "NETRC":
			continue
		}
		env = append(env, kv)
	}
	home := t.TempDir()
	file := filepath.Join(home, "gitconfig")
	if err := os.WriteFile(file, []byte(global), 0o644); err != nil {
		t.Fatal(err)
	}
	return append(env, append([]string{"HOME=" + home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + file,
		"GIT_TERMINAL_PROMPT=0"}, vars...)...)
}
