package config

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary files to the reader: it must never panic, and whatever loads must
// dump to a file that loads to the same projects.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/ini/*.ini")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ReadDocument(data, "fuzz.ini")
		cfg, err := Parse(bytes.NewReader(data), "fuzz.ini")
		if err != nil {
			return
		}
		var dump bytes.Buffer
		if err := cfg.Dump(&dump); err != nil {
			t.Fatal(err)
		}
		again, err := Parse(bytes.NewReader(dump.Bytes()), "dump.ini")
		if err != nil {
			t.Fatalf("dump does not load: %v\n%s", err, dump.String())
		}
		assertSameDump(t, "fuzz", cfg, again)
		snap, err := Parse(bytes.NewReader(Snapshot(data, "/etc/fuzz.ini")), "snapshot")
		if err != nil {
			t.Fatalf("the snapshot does not load: %v", err)
		}
		assertSameProjects(t, "fuzz", cfg, snap)
	})
}
