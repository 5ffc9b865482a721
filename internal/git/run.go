package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"pipelined/internal/procexec"
)

// SafeEnv returns env with what keeps git and ssh from ever waiting for a person (SPEC §9):
// no terminal prompt, no askpass program (an empty GIT_ASKPASS also stops git from falling
// back to SSH_ASKPASS), and ssh in batch mode with a connect timeout, unless env chooses an
// ssh command of its own (GIT_SSH_COMMAND or GIT_SSH). sshOptions (see SharedSSH) are added
// to the default ssh command, and to a chosen GIT_SSH_COMMAND that is a plain ssh command
// line; ssh keeps the first value of an option, so the operator's own settings win.
func SafeEnv(env []string, sshOptions ...string) []string {
	out := make([]string, 0, len(env)+4)
	sshChosen := false
	extra := strings.Join(sshOptions, " ")
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		switch name {
		case "GIT_TERMINAL_PROMPT", "GIT_ASKPASS", "SSH_ASKPASS_REQUIRE":
			continue
		case "GIT_SSH":
			sshChosen = true
		case "GIT_SSH_COMMAND":
			sshChosen = true
			if extra != "" && (value == "ssh" || strings.HasPrefix(value, "ssh ")) {
				kv += " " + extra
			}
		}
		out = append(out, kv)
	}
	out = append(out, "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS_REQUIRE=never")
	if !sshChosen {
		out = append(out, strings.TrimSpace("GIT_SSH_COMMAND=ssh -o BatchMode=yes -o ConnectTimeout=30 "+extra))
	}
	return out
}

// SharedSSH returns the ssh options that let successive git commands share one connection
// per host: the first opens a master connection, which stays up for persist after its last
// use, and the others go through it. An ssh poll then costs a few milliseconds of CPU
// instead of a key exchange each (about 150 ms with OpenSSH 9's defaults). dir holds the
// control sockets; if it is too long for a socket path, sharing is left off.
func SharedSSH(dir string, persist time.Duration) []string {
	// sun_path holds 107 bytes; ssh adds "/" and 40 hex digits for %C, and while it sets up
	// a master, a temporary suffix of 17 more.
	const maxDir = 107 - 41 - 17
	if len(dir) > maxDir || strings.ContainsAny(dir, " %") {
		return nil
	}
	return []string{"-o", "ControlMaster=auto", "-o", "ControlPath=" + dir + "/%C",
		"-o", fmt.Sprintf("ControlPersist=%d", int(persist.Seconds()))}
}

// MaxLsRemoteOutput bounds what is read from ls-remote: about 10,000 refs. A listing made
// in-process (internal/smarthttp) is bounded by the same figure.
const MaxLsRemoteOutput = 1 << 20

// TooManyRefs is the error of a listing longer than MaxLsRemoteOutput, however it was made.
func TooManyRefs(remote string) error {
	return fmt.Errorf("git ls-remote %s: more than %d KiB of refs", MaskURL(remote), MaxLsRemoteOutput>>10)
}

// LsRemote lists the branches and tags of remote. env is the complete environment (see
// SafeEnv); timeout 0 means none. Refs that git or pipelined refuses come back as problems.
// An error quotes git's own message (see Message) and masks the remote's credentials.
func LsRemote(ctx context.Context, remote string, env []string, timeout time.Duration) (refs []Ref, problems []string, err error) {
	// One pipe for stdout and stderr: with --quiet, git writes to stderr only when it fails;
	// a warning on success shows up as a problem line.
	out := &cappedBuffer{max: MaxLsRemoteOutput}
	_, err = procexec.Run(ctx, procexec.Cmd{Argv: LsRemoteArgs(remote), Env: env, Output: out, Timeout: timeout})
	switch {
	case out.overflow:
		return nil, nil, TooManyRefs(remote)
	case err != nil:
		return nil, nil, commandError("ls-remote", remote, out.buf.Bytes(), err)
	}
	refs, problems = ParseLsRemote(out.buf.Bytes())
	return refs, problems, nil
}

// commandError describes a failed git command: git's own message when it exited with an
// error, the remote's credentials masked. It wraps err (an *procexec.ExitError, or
// procexec.ErrTimedOut …) for callers that tell the cases apart.
func commandError(op, remote string, output []byte, err error) error {
	var exit *procexec.ExitError
	if msg := Message(output); msg != "" && errors.As(err, &exit) {
		return fmt.Errorf("git %s %s: %s (%w)", op, MaskURL(remote), MaskURLsIn(msg, remote), err)
	}
	return fmt.Errorf("git %s %s: %w", op, MaskURL(remote), err)
}

// Bounds of Message.
const (
	maxMessageLines = 5
	maxMessageBytes = 1000
)

// Message is what git said about a failure, on one line: the lines that start with
// "fatal:", "error:" or "remote:" (the server's own words), or when there are none the last
// lines, which say what went wrong (the very last is often only a hint such as "and the
// repository exists."). At most five lines (the first four and the last) and 1,000 bytes,
// joined by "; ".
func Message(output []byte) string {
	var all, said []string
	for _, line := range strings.Split(string(output), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		all = append(all, line)
		if strings.HasPrefix(line, "fatal:") || strings.HasPrefix(line, "error:") || strings.HasPrefix(line, "remote:") {
			said = append(said, line)
		}
	}
	lines := said
	if len(lines) == 0 {
		lines = all[max(len(all)-maxMessageLines, 0):]
	}
	if len(lines) > maxMessageLines {
		lines = append(lines[:maxMessageLines-1:maxMessageLines-1], lines[len(lines)-1])
	}
	return clipBytes(strings.Join(lines, "; "), maxMessageBytes)
}

// clipBytes cuts s to at most n bytes, on a UTF-8 boundary, marking the cut with "…".
func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// errOverflow stops the copy of a command's output at the cap: git then gets SIGPIPE
// instead of sending the rest of an endless list.
var errOverflow = errors.New("output over its cap")

// cappedBuffer keeps the first max bytes written and refuses more. The buffer is a field,
// not embedded: an embedded bytes.Buffer would lend its ReadFrom to io.Copy, which os/exec
// uses to fill the writer, and the cap in Write would never be asked.
type cappedBuffer struct {
	buf      bytes.Buffer
	max      int
	overflow bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); len(p) > room {
		b.overflow = true
		n, _ := b.buf.Write(p[:max(room, 0)])
		return n, errOverflow
	}
	return b.buf.Write(p)
}
