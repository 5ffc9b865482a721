package rsync

import (
	"strings"
	"testing"
)

func TestCommandLineIsThatOfTheSpec(t *testing.T) {
	cases := []struct {
		o    Options
		want string
	}{
		{Options{Source: "/b", Destination: "/var/www"}, "rsync --verbose --recursive --links --exclude .git -- /b/ /var/www"},
		{Options{Source: "/d", Destination: "host:/srv", Checksum: true, Preserve: true, Delete: true, IncludeFrom: "/b/MANIFEST.in"},
			"rsync --verbose --recursive --links --exclude .git --checksum --owner --group --perms --times --delete-after --delete-excluded --include-from /b/MANIFEST.in -- /d/ host:/srv"},
	}
	for _, tc := range cases {
		if got := strings.Join(Args(tc.o), " "); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

func TestMkPathComesBeforeTheOperands(t *testing.T) {
	got := strings.Join(Args(Options{Source: "/d", Destination: "host:/srv/a/b", Delete: true, MkPath: true}), " ")
	if want := "rsync --verbose --recursive --links --exclude .git --delete-after --delete-excluded --mkpath -- /d/ host:/srv/a/b"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestRemoteDestinationsAreTheOnesRsyncSees(t *testing.T) {
	for dest, want := range map[string]bool{
		"/srv/www": false, "./a:b": false, "/srv/a:b": false, "relative/dir": false, "C": false,
		"host:/srv": true, "user@host:dir": true, "host::module/x": true, "rsync://host/module/x": true, ":x": false,
	} {
		if got := Remote(dest); got != want {
			t.Errorf("Remote(%q) = %v, want %v", dest, got, want)
		}
	}
}

func TestMkPathNeedsRsync323(t *testing.T) {
	for out, want := range map[string]bool{
		"rsync  version 3.2.7  protocol version 31\nCopyright": true,
		"rsync  version 3.2.3  protocol version 31":            true,
		"rsync  version v3.4.1  protocol version 32":           true,
		"rsync  version 3.2.2  protocol version 31":            false,
		"rsync  version 3.1.3  protocol version 31":            false,
		"rsync  version 2.6.9  protocol version 29":            false,
		"openrsync: protocol version 29":                       false,
		"":                                                     false,
	} {
		if got := HasMkPath(out); got != want {
			t.Errorf("HasMkPath(%q) = %v, want %v", out, got, want)
		}
	}
}

func TestMissingDirIsReadFromRsyncsOwnWords(t *testing.T) {
	lines := []string{"sending incremental file list", `rsync: [Receiver] mkdir "/srv/www/app/feature/x" failed: No such file or directory (2)`,
		"rsync error: error in file IO (code 11) at main.c(791) [Receiver=3.2.7]"}
	if got := MissingDir(lines); got != "/srv/www/app/feature/x" {
		t.Errorf("MissingDir = %q", got)
	}
	daemon := []string{`rsync: [Receiver] mkdir "app/main" (in site) failed: No such file or directory (2)`}
	if got := MissingDir(daemon); got != "app/main (in the module site)" {
		t.Errorf("MissingDir of a daemon = %q", got)
	}
	if got := MissingDir([]string{"rsync: connection unexpectedly closed"}); got != "" {
		t.Errorf("MissingDir of another error = %q", got)
	}
}

func TestRefusedMkPathIsReadFromRsyncsOwnWords(t *testing.T) {
	for _, lines := range [][]string{
		{"rsync: --mkpath: unknown option", "rsync error: syntax or usage error (code 1) at main.c(1580) [server=3.1.3]"},
		{"rsync: on remote machine: --mkpath: unknown option", "rsync error: error starting client-server protocol (code 5)"},
	} {
		if !RefusedMkPath(lines) {
			t.Errorf("RefusedMkPath(%q) = false", lines)
		}
	}
	if RefusedMkPath([]string{`rsync: [Receiver] mkdir "/srv/x" failed: No such file or directory (2)`}) {
		t.Errorf("RefusedMkPath of another error = true")
	}
}
