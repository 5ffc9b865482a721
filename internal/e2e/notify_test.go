package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"pipelined/internal/testenv"
)

// mta is a real mail transfer agent (Debian's exim4) for one test: a daemon on 127.0.0.1
// that delivers every message into one mailbox file, and a sendmail command (exim's own,
// with a configuration that relays to that daemon) for the callbacks.
type mta struct {
	sendmail string // the command line of NOTIFY_SENDMAIL
	mailbox  string
}

func startMTA(t *testing.T, s *site) *mta {
	t.Helper()
	testenv.Require(t, "exim4")
	exim := lookPath(t, "exim4")
	// exim never delivers as root: as root, it works as its own user, which must reach
	// the test's directories.
	name, uid, gid := "", os.Getuid(), os.Getgid()
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if uid == 0 {
		u, err := user.Lookup("Debian-exim")
		if err != nil {
			t.Fatalf("exim4 is installed but its user is not: %v", err)
		}
		name = u.Username
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		for dir := s.dir; dir != os.TempDir() && dir != "/"; dir = filepath.Dir(dir) {
			os.Chmod(dir, 0o755) // the test's own temporary directories, made 0700
		}
	}
	root := filepath.Join(s.dir, "mta")
	for _, d := range []string{"spool", "spool-submit", "log", "box"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
		os.Chown(filepath.Join(root, d), uid, gid)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	server, submit := eximConfigs(s, root, name, gid, port)
	p := startProcess(t, exim, "-C", server, "-bdf", "-oX", strconv.Itoa(port))
	testenv.Eventually(t, 30*time.Second, "exim does not listen", func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
		}
		return err == nil || p.exited()
	})
	if p.exited() {
		t.Fatalf("exim -bdf exited:\n%s", p.stderr())
	}
	return &mta{sendmail: exim + " -C " + submit + " -odi", mailbox: filepath.Join(root, "box", "mailbox")}
}

// eximConfigs writes the daemon's configuration (listen on 127.0.0.1:port, deliver into
// root/box/mailbox) and the submitting sendmail's (relay everything to that daemon).
func eximConfigs(s *site, root, user string, gid, port int) (server, submit string) {
	common := fmt.Sprintf("primary_hostname = pipelined.test\nqualify_domain = pipelined.test\nexim_user = %s\nexim_group = %d\nnever_users =\n",
		user, gid)
	server = s.file("mta/server.conf", common+fmt.Sprintf(`spool_directory = %[1]s/spool
log_file_path = %[1]s/log/%%slog
daemon_smtp_ports = %[2]d
local_interfaces = 127.0.0.1
tls_advertise_hosts =
acl_smtp_rcpt = accept
begin routers
all:
  driver = accept
  transport = mailbox
begin transports
mailbox:
  driver = appendfile
  file = %[1]s/box/mailbox
  user = %[3]s
  mode = 0644
`, root, port, user), 0o644)
	submit = s.file("mta/submit.conf", common+fmt.Sprintf(`spool_directory = %[1]s/spool-submit
log_file_path = %[1]s/log/submit-%%slog
begin routers
relay:
  driver = manualroute
  route_list = * 127.0.0.1::%[2]d byname
  transport = smtp
  self = send
begin transports
smtp:
  driver = smtp
  hosts_avoid_tls = *
  allow_localhost
`, root, port), 0o644)
	return server, submit
}

// messages waits for n messages in the mailbox and returns them.
func (m *mta) messages(t *testing.T, n int) []*mail.Message {
	t.Helper()
	var msgs []*mail.Message
	// exim may be appending to the mailbox: it is read once it has not changed for 200 ms.
	var last string
	var changed time.Time
	var lastErr string
	testenv.Eventually(t, time.Minute, fmt.Sprintf("fewer than %d whole messages were delivered", n), func() bool {
		data, _ := os.ReadFile(m.mailbox)
		if string(data) != last {
			last, changed = string(data), time.Now()
			return false
		}
		parts := strings.Split(string(data), "\nFrom ")
		if len(data) == 0 || len(parts) < n || time.Since(changed) < 200*time.Millisecond {
			return false
		}
		msgs = nil
		for i, part := range parts {
			if i > 0 {
				part = "From " + part
			}
			_, rest, _ := strings.Cut(part, "\n") // the mbox "From " line
			msg, err := mail.ReadMessage(strings.NewReader(rest))
			if err != nil {
				if e := fmt.Sprintf("message %d: %v", i, err); e != lastErr {
					t.Logf("%s\n%s", e, part) // shown if the wait fails
					lastErr = e
				}
				return false
			}
			msgs = append(msgs, msg)
		}
		return true
	})
	return msgs
}

// chatReceiver is a local HTTP endpoint that keeps what is posted to it.
type chatReceiver struct {
	url   string
	mu    sync.Mutex
	posts []string // "PATH BODY"
}

func startChatReceiver(t *testing.T) *chatReceiver {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &chatReceiver{url: "http://" + l.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.posts = append(c.posts, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type")+"\n"+string(body))
		c.mu.Unlock()
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return c
}

// TestNotificationCallbacksMailAndPost runs the shipped callbacks from real builds: a
// failure mailed through a real MTA and posted to a chat webhook, a success mailed. A
// commit subject with quotes, a backslash and a line that looks like a header breaks
// neither the mail's headers nor the JSON, and no secret leaves the build.
func TestNotificationCallbacksMailAndPost(t *testing.T) {
	testenv.Require(t, "curl")
	s := newSite(t)
	m := startMTA(t, s)
	chat := startChatReceiver(t)
	repo := testenv.NewRepo(t, nil)
	subject := `say "hi" \ <b>&</b> 😀`
	repo.Commit(subject+"\nBcc: victim@example.com", map[string]string{"f": "1"})
	repo.Push("main")
	notify := filepath.Join(testenv.ModuleRoot(t), "scripts", "notify")
	fail := s.file("fail.sh", "#!/bin/sh\necho \"token $API_TOKEN\"\necho 'rsync: mkdir \"/srv/x\" failed'\nexit 1\n", 0o755)
	s.writeConfig(`[DEFAULT]
remote = %[1]s
branches = main

[mailed]
env =
    API_TOKEN=s3cr3t-t0ken
    NOTIFY_SENDMAIL=%[2]s
    NOTIFY_FROM=pipelined@example.com
    NOTIFY_PAGE_URL=https://ci.example.com/
prepare_callback = %[3]s
error_callback = %[4]s/mail ops@example.com dev@example.com

[chatted]
env =
    API_TOKEN=s3cr3t-t0ken
    NOTIFY_WEBHOOK_URL=%[5]s/hooks/s3cr3t-h00k
prepare_callback = %[3]s
error_callback = %[4]s/chat

[fine]
env = NOTIFY_SENDMAIL=%[2]s
success_callback = %[4]s/mail ops@example.com
`, repo.Remote, m.sendmail, fail, notify, chat.url)
	for project, want := range map[string]int{"mailed": 1, "chatted": 1, "fine": 0} {
		if res := s.build(project, "main"); res.code != want {
			t.Fatalf("%s: exit %d, want %d\n%s", project, res.code, want, res.stderr)
		}
	}
	// The mailbox gets a copy per recipient: two of the failure's mail, one of the success's.
	checkMails(t, m.messages(t, 3), subject)
	checkPost(t, chat, subject, repo.Head()[:8])
	for _, project := range []string{"mailed", "chatted"} {
		log := readFile(t, filepath.Join(s.onlyBuild(project), "build.log"))
		// What the build printed is its own; the webhook's URL is nowhere in the log.
		if strings.Contains(log, "s3cr3t-h00k") {
			t.Errorf("%s: build.log holds the webhook's URL:\n%s", project, log)
		}
	}
}

// checkPost checks the one post the chat webhook got.
func checkPost(t *testing.T, chat *chatReceiver, subject, short string) {
	t.Helper()
	chat.mu.Lock()
	posts := chat.posts
	chat.mu.Unlock()
	if len(posts) != 1 {
		t.Fatalf("%d posts to the chat webhook, want 1: %q", len(posts), posts)
	}
	head, body, _ := strings.Cut(posts[0], "\n")
	if head != "POST /hooks/s3cr3t-h00k application/json" {
		t.Errorf("the post: %s", head)
	}
	var msg struct{ Text, Username string }
	if err := json.Unmarshal([]byte(body), &msg); err != nil {
		t.Fatalf("the post is not JSON: %v\n%s", err, body)
	}
	for _, want := range []string{"chatted main " + short + ": failed at step prepare", subject + " Bcc: victim@example.com",
		"token ***", `rsync: mkdir "/srv/x" failed`} {
		if !strings.Contains(msg.Text, want) {
			t.Errorf("the chat message lacks %q:\n%s", want, msg.Text)
		}
	}
}

// mailBody is a message's body, its transfer encoding undone.
func mailBody(t *testing.T, msg *mail.Message) string {
	t.Helper()
	body, _ := io.ReadAll(msg.Body)
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "base64") {
		dec, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(strings.ReplaceAll(string(body), "\r", ""), "\n", ""))
		if err != nil {
			t.Fatalf("the body is not base64: %v\n%s", err, body)
		}
		body = dec
	}
	return string(body)
}

// checkMails checks the failure's mail and the success's.
func checkMails(t *testing.T, msgs []*mail.Message, subject string) {
	t.Helper()
	var dec mime.WordDecoder
	byStatus, copies := map[string]*mail.Message{}, map[string]int{}
	for _, msg := range msgs {
		title, err := dec.DecodeHeader(msg.Header.Get("Subject"))
		if err != nil {
			t.Errorf("Subject %q: %v", msg.Header.Get("Subject"), err)
		}
		if msg.Header.Get("Bcc") != "" || len(msg.Header["Subject"]) != 1 {
			t.Errorf("a header was injected: %v", msg.Header)
		}
		if !strings.HasSuffix(title, ": failed - "+subject+" Bcc: victim@example.com") &&
			!strings.HasSuffix(title, ": success - "+subject+" Bcc: victim@example.com") {
			t.Errorf("Subject %q", title)
		}
		status := "success"
		if strings.Contains(title, ": failed") {
			status = "failed"
		}
		byStatus[status] = msg
		copies[status]++
	}
	if copies["failed"] != 2 || copies["success"] != 1 {
		t.Errorf("copies delivered: %v, want failed 2 (two recipients) and success 1", copies)
	}
	failed := byStatus["failed"]
	if failed == nil || byStatus["success"] == nil {
		t.Fatalf("want a failure's mail and a success's")
	}
	if to := failed.Header.Get("To"); to != "ops@example.com, dev@example.com" || failed.Header.Get("From") != "pipelined@example.com" {
		t.Errorf("To %q, From %q", to, failed.Header.Get("From"))
	}
	body := mailBody(t, failed)
	for _, want := range []string{"failed at step prepare", "reason  prepare: ", "page    https://ci.example.com/mailed/refs%252Fheads%252Fmain/",
		"    token ***", `    rsync: mkdir "/srv/x" failed`} {
		if !strings.Contains(body, want) {
			t.Errorf("the mail lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "s3cr3t") {
		t.Errorf("the mail holds the secret")
	}
}
