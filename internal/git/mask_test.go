package git

import "testing"

func TestMaskURL(t *testing.T) {
	cases := []struct{ remote, want string }{
		{"https://user:pass@host/p.git", "https://user:***@host/p.git"},
		{"https://TOKEN@host/p.git", "https://***@host/p.git"},
		{"http://x-access-token:ghp_abc@github.com/o/r", "http://x-access-token:***@github.com/o/r"},
		{"HTTPS://TOKEN@host/p.git", "HTTPS://***@host/p.git"},
		{"ftp://TOKEN@host/p.git", "ftp://***@host/p.git"},
		{"ftps://u:p@host:990/p.git", "ftps://u:***@host:990/p.git"},
		{"https://user:@host/p.git", "https://user:***@host/p.git"},
		{"https://u:p@ss@host/p.git", "https://u:***@host/p.git"},   // an unescaped "@" in the password
		{"https://u:p?#x@host/p.git", "https://u:***@host/p.git"},   // "?" and "#" in the password
		{"https://host/p.git?x=a@b", "https://host/p.git?x=a@b"},    // an "@" after the host
		{"https://host/p@2.git", "https://host/p@2.git"},            // an "@" in the path
		{"https://host/p.git", "https://host/p.git"},                // nothing to hide
		{"https://@host/p.git", "https://@host/p.git"},              // an empty user
		{"ssh://git@host/p.git", "ssh://git@host/p.git"},            // an ssh user is no secret
		{"ssh://git:secret@host/p.git", "ssh://git:***@host/p.git"}, // but its password is
		{"git+ssh://deploy@host:22/p.git", "git+ssh://deploy@host:22/p.git"},
		{"git@github.com:o/r.git", "git@github.com:o/r.git"}, // scp-like
		{"git@host:dir://x", "git@host:dir://x"},             // scp-like, with "://" in its path
		{"git://host/p.git", "git://host/p.git"},
		{"/srv/git/p.git", "/srv/git/p.git"},
		{"file:///srv/git/p.git", "file:///srv/git/p.git"},
		{"", ""},
		{"not a url @ all", "not a url @ all"},
	}
	for _, tc := range cases {
		if got := MaskURL(tc.remote); got != tc.want {
			t.Errorf("MaskURL(%q) = %q, want %q", tc.remote, got, tc.want)
		}
	}
}

func TestMaskURLsIn(t *testing.T) {
	cases := []struct{ text, remote, want string }{
		{"fatal: repository 'https://u:tok@h/p.git/' not found", "https://u:tok@h/p.git",
			"fatal: repository 'https://u:***@h/p.git/' not found"},
		{"git ls-remote https://tok@h/p.git: fatal: could not read Password for 'https://tok@h': x", "https://tok@h/p.git",
			"git ls-remote https://***@h/p.git: fatal: could not read Password for 'https://***@h': x"},
		// The user of an ssh URL stays; nothing is hidden, the text is unchanged.
		{"fatal: ssh://git@h/p.git: no", "ssh://git@h/p.git", "fatal: ssh://git@h/p.git: no"},
		// A word that happens to equal the user name is not touched, only "user@".
		{"does not appear to be a git repository, git@", "https://git@h/p.git", "does not appear to be a git repository, ***@"},
		{"no credentials here", "/srv/p.git", "no credentials here"},
	}
	for _, tc := range cases {
		if got := MaskURLsIn(tc.text, tc.remote); got != tc.want {
			t.Errorf("MaskURLsIn(%q, %q)\n got %q\nwant %q", tc.text, tc.remote, got, tc.want)
		}
	}
}
