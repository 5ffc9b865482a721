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
