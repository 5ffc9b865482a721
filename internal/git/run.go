package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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

// maxLsRemoteOutput bounds what is read from ls-remote: about 10,000 refs.
const maxLsRemoteOutput = 1 << 20

// LsRemote lists the branches and tags of remote. env is the complete environment (see
// SafeEnv); timeout 0 means none. Refs that git or pipelined refuses come back as problems.
func LsRemote(ctx context.Context, remote string, env []string, timeout time.Duration) (refs []Ref, problems []string, err error) {
	// One pipe for stdout and stderr: with --quiet, git writes to stderr only when it fails
	// (and then its last line says why); a warning on success shows up as a problem line.
	out := &limitedBuffer{max: maxLsRemoteOutput}
	_, err = procexec.Run(ctx, procexec.Cmd{Argv: LsRemoteArgs(remote), Env: env, Output: out, Timeout: timeout})
	if err != nil {
		var exit *procexec.ExitError
		if msg := strings.TrimSpace(out.String()); msg != "" && errors.As(err, &exit) {
			return nil, nil, fmt.Errorf("git ls-remote %s: %s", remote, lastLine(msg))
		}
		return nil, nil, fmt.Errorf("git ls-remote %s: %w", remote, err)
	}
	if out.overflow {
		return nil, nil, fmt.Errorf("git ls-remote %s: more than %d KiB of refs", remote, maxLsRemoteOutput>>10)
	}
	refs, problems = ParseLsRemote(out.Bytes())
	return refs, problems, nil
}

// lastLine is the last line of git's error output, which says what went wrong.
func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// limitedBuffer keeps the first max bytes written and notes that there were more.
type limitedBuffer struct {
	bytes.Buffer
	max      int
	overflow bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.overflow = true
		b.Buffer.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
