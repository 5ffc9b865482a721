package forge

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"pipelined/internal/config"
	"pipelined/internal/safeopen"
)

// maxTokenFile bounds a token file: tokens are tens of bytes; a larger file is the wrong one.
const maxTokenFile = 16 << 10

// TokenPath is where forge.token_file is read: as written when absolute, else in
// $CREDENTIALS_DIRECTORY when that is set (systemd's LoadCredential=), else next to the
// configuration file.
func TokenPath(f config.Forge) string {
	switch {
	case f.TokenFile == "" || filepath.IsAbs(f.TokenFile):
		return f.TokenFile
	case os.Getenv("CREDENTIALS_DIRECTORY") != "":
		return filepath.Join(os.Getenv("CREDENTIALS_DIRECTORY"), f.TokenFile)
	}
	return filepath.Join(f.BaseDir, f.TokenFile)
}

// Token reads the project's token now: from its file (so that a rotated token is used
// without a reload) or the daemon's environment. Its errors name the file or variable,
// never any of its content.
func Token(f config.Forge) (string, error) {
	if f.TokenEnv != "" {
		t := strings.TrimSpace(os.Getenv(f.TokenEnv))
		if t == "" {
			return "", fmt.Errorf("forge.token_env: %s is not set in the daemon's environment", f.TokenEnv)
		}
		return t, nil
	}
	path := TokenPath(f)
	if path == "" {
		return "", errors.New("neither forge.token_file nor forge.token_env is set")
	}
	file, err := safeopen.Open(path, os.O_RDONLY, maxTokenFile, true)
	if err != nil {
		return "", fmt.Errorf("forge.token_file: %w", err)
	}
	defer file.Close()
	data, err := io.ReadAll(file)
	if err != nil {
		return "", fmt.Errorf("forge.token_file: reading %s: %v", path, err)
	}
	t := strings.TrimSpace(string(data))
	switch {
	case t == "":
		return "", fmt.Errorf("forge.token_file: %s is empty", path)
	case strings.ContainsAny(t, "\r\n\t "):
		// A header value cannot hold a line break; a space means this is not a token file.
		return "", fmt.Errorf("forge.token_file: %s holds more than one word; it must hold the token alone", path)
	}
	return t, nil
}

// WithoutTokens returns the process environment less every forge.token_env variable of
// the configuration (of any project: builds of one project must not see another's token
// either). A token thus never reaches a build's environment, and through it a callback, a
// docker build argument or a log.
func WithoutTokens(environ []string, cfg *config.Config) []string {
	names := map[string]bool{}
	for _, p := range cfg.Projects {
		if p.Forge.Kind != "" && p.Forge.TokenEnv != "" {
			names[p.Forge.TokenEnv] = true
		}
	}
	if len(names) == 0 {
		return environ
	}
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		if name, _, _ := strings.Cut(kv, "="); !names[name] {
			out = append(out, kv)
		}
	}
	return out
}
