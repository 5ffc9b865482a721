package e2e

import (
	"mime"
	"path/filepath"
	"strings"
	"testing"

	"pipelined/internal/testenv"
)

// TestMailOfAVeryLongSubjectAndLineArrives: a commit subject of 2000 characters and a
// failing command whose last line is 3000 (a minified bundle's error, say) still reach the
// mailbox through a real MTA, which refuses lines longer than SMTP's 998.
func TestMailOfAVeryLongSubjectAndLineArrives(t *testing.T) {
	s := newSite(t)
	m := startMTA(t, s)
	repo := testenv.NewRepo(t, nil)
	subject := strings.Repeat("long subject é ", 140)
	repo.Commit(subject, map[string]string{"f": "1"})
	repo.Push("main")
	notify := filepath.Join(testenv.ModuleRoot(t), "scripts", "notify")
	fail := s.file("fail.sh", "#!/bin/sh\nprintf 'x%.0s' $(seq 3000)\necho\nexit 1\n", 0o755)
	s.writeConfig(`[mailed]
remote = %[1]s
branches = main
env = NOTIFY_SENDMAIL=%[2]s
prepare_callback = %[3]s
error_callback = %[4]s/mail ops@example.com
`, repo.Remote, m.sendmail, fail, notify)
	if res := s.build("mailed", "main"); res.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", res.code, res.stderr)
	}
	msg := m.messages(t, 1)[0]
	var dec mime.WordDecoder
	title, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || !strings.Contains(title, strings.TrimSpace(subject)) {
		t.Errorf("Subject %q (%v)", title, err)
	}
	body := mailBody(t, msg)
	if !strings.Contains(body, strings.Repeat("x", 3000)) {
		t.Errorf("the failing line is not in the mail:\n%s", body)
	}
}
