package testenv

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ConfigparserReading is what Python's configparser.ConfigParser() reads from a file,
// as internal/config/testdata/configparser_oracle.py reports it.
type ConfigparserReading struct {
	OK       bool   `json:"ok"`
	Error    string `json:"error"`
	Sections []struct {
		Name   string            `json:"name"`
		Values map[string]string `json:"values"`
	} `json:"sections"`
	// Typed holds, per section, the keys read with getboolean ("boolean"), getint
	// ("integer", "seconds": empty is null) or re.compile ("regex"): the value, or "error".
	Typed map[string]map[string]any `json:"typed"`
}

// Configparser reads files with Python's configparser, the oracle of SPEC §4.1. kinds
// maps a key to its kind (config.Key.Kind()); keys of other kinds are read as strings only.
func Configparser(t testing.TB, files []string, kinds map[string]string) map[string]ConfigparserReading {
	t.Helper()
	Require(t, "python3")
	req, _ := json.Marshal(map[string]any{"files": files, "types": kinds})
	cmd := exec.Command("python3", filepath.Join(ModuleRoot(t), "internal", "config", "testdata", "configparser_oracle.py"))
	cmd.Stdin = strings.NewReader(string(req))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running the configparser oracle: %v", err)
	}
	readings := map[string]ConfigparserReading{}
	if err := json.Unmarshal(out, &readings); err != nil {
		t.Fatalf("reading the oracle's answer: %v", err)
	}
	return readings
}
