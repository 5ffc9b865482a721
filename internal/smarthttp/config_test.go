package smarthttp

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"pipelined/internal/testenv"
)

func TestParseConfig(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []Entry
		err  string
	}{
		{"empty", "", nil, ""},
		{"values, a valueless boolean, dotted and multi-line subsections",
			"user.name\nA B\x00http.sslverify\x00http.https://a.example.com/x.y/.extraheader\nX: 1\nY\x00url.https://real/.insteadof\nhttps://alias/\x00",
			[]Entry{{Section: "user", Name: "name", Value: "A B"}, {Section: "http", Name: "sslverify", NoValue: true},
				{Section: "http", Subsection: "https://a.example.com/x.y/", Name: "extraheader", Value: "X: 1\nY"},
				{Section: "url", Subsection: "https://real/", Name: "insteadof", Value: "https://alias/"}}, ""},
		{"cut off", "user.name\nA\x00http.proxy\nx", nil, "unexpected output"},
		{"a warning on the same pipe", "warning: something\nhttp.proxy\nx\x00", nil, "unexpected output"},
		{"no section", "name\nx\x00", nil, "unexpected output"},
		{"upper case", "HTTP.proxy\nx\x00", nil, "unexpected output"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseConfig([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseConfig(%q) error %v, want %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseConfig(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestReadSnapshot(t *testing.T) {
	testenv.Require(t, "git")
	env := testenv.IsolatedGitEnv(t, "[http]\n\tsslVerify\n[credential \"https://x.example.com\"]\n\thelper = store\n")
	snap, err := ReadSnapshot(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{Section: "http", Name: "sslverify", NoValue: true},
		{Section: "credential", Subsection: "https://x.example.com", Name: "helper", Value: "store"}}
	// The repository the test runs in adds its own configuration after the global one.
	if len(snap.Entries) < 2 || !reflect.DeepEqual(snap.Entries[:2], want) || snap.Netrc {
		t.Fatalf("snapshot %+v, want %+v first, and no .netrc", snap.Entries, want)
	}
	home := lookup(env, "HOME")
	if err := os.WriteFile(filepath.Join(home, ".netrc"), []byte("machine x login y password z\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if snap, err = ReadSnapshot(t.Context(), env); err != nil || !snap.Netrc {
		t.Fatalf("with a .netrc: %+v, %v", snap, err)
	}
}

func TestReadSnapshotOfABrokenConfiguration(t *testing.T) {
	testenv.Require(t, "git")
	env := testenv.IsolatedGitEnv(t, "[broken\n")
	_, err := ReadSnapshot(t.Context(), env)
	if err == nil || !strings.Contains(err.Error(), "bad config line 1") {
		t.Fatalf("error %v, want git's own words", err)
	}
	// Every remote then goes to git, which says what is wrong.
	_, err = New(env).List(t.Context(), "https://127.0.0.1:1/r.git", env, 0)
	if err == nil || !strings.Contains(err.Error(), "reading git's configuration") {
		t.Fatalf("List error %v", err)
	}
}

func TestRootsOfAnUnusableCAFile(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "x.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o644)
	for _, file := range []string{notPEM, filepath.Join(dir, "missing.pem")} {
		pool, why := (&Snapshot{Env: []string{"GIT_SSL_CAINFO=" + file}}).roots()
		if pool != nil || why == "" {
			t.Errorf("roots with %s = %v, %q; want a reason for git", file, pool, why)
		}
	}
}

func TestReadSnapshotOfAnEndlessConfiguration(t *testing.T) {
	testenv.Require(t, "git")
	env := testenv.IsolatedGitEnv(t, "[user]\n\tname = "+strings.Repeat("x", maxConfigOutput)+"\n")
	if _, err := ReadSnapshot(t.Context(), env); err == nil || !strings.Contains(err.Error(), "more than 1024 KiB") {
		t.Fatalf("error %v, want the cap", err)
	}
}

func TestAnUnusableCAFileSendsOnlyHTTPSRemotesToGit(t *testing.T) {
	testenv.Require(t, "git")
	notPEM := filepath.Join(t.TempDir(), "x.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o644)
	env := testenv.IsolatedGitEnv(t, "", "GIT_SSL_CAINFO="+notPEM)
	c := New(env)
	defer c.Close()
	_, err := c.List(t.Context(), "https://127.0.0.1:1/r.git", env, time.Minute)
	if !errors.Is(err, ErrUseGit) || !strings.Contains(err.Error(), "no certificate in the CA file") {
		t.Errorf("https: %v, want ErrUseGit for the CA file", err)
	}
	// Plain http needs no CA: it is listed (and here finds nothing listening).
	_, err = c.List(t.Context(), "http://127.0.0.1:1/r.git", env, time.Minute)
	if err == nil || errors.Is(err, ErrUseGit) || !strings.Contains(err.Error(), "Failed to connect to 127.0.0.1 port 1") {
		t.Errorf("http: %v, want a connection error", err)
	}
}

func TestReadSnapshotCanceled(t *testing.T) {
	testenv.Require(t, "git")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := ReadSnapshot(ctx, testenv.IsolatedGitEnv(t, ""))
	if err == nil || !strings.HasPrefix(err.Error(), "git config: ") || !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want git config's cancellation", err)
	}
}
