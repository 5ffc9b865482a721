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
// back to SSH_ASKPASS), ssh in batch mode with a connect timeout unless the operator chose
// an ssh command of their own.
func SafeEnv(env []string) []string {
	out := make([]string, 0, len(env)+4)
	sshChosen := false
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "GIT_TERMINAL_PROMPT", "GIT_ASKPASS", "SSH_ASKPASS_REQUIRE":
			continue
		case "GIT_SSH_COMMAND", "GIT_SSH":
			sshChosen = true
		}
		out = append(out, kv)
	}
	out = append(out, "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS_REQUIRE=never")
	if !sshChosen {
		out = append(out, "GIT_SSH_COMMAND=ssh -o BatchMode=yes -o ConnectTimeout=30")
	}
	return out
}

// maxLsRemoteOutput bounds what is read from ls-remote: about 10,000 refs.
const maxLsRemoteOutput = 1 << 20

// LsRemote lists the branches and tags of remote. env is the complete environment (see
// SafeEnv); timeout 0 means none. Refs that git or pipelined refuses come back as problems.
func LsRemote(ctx context.Context, remote string, env []string, timeout time.Duration) (refs []Ref, problems []string, err error) {
	out := &limitedBuffer{max: maxLsRemoteOutput}
	stderr := &limitedBuffer{max: 4096}
	_, err = procexec.Run(ctx, procexec.Cmd{Argv: LsRemoteArgs(remote), Env: env, Output: out, Stderr: stderr, Timeout: timeout})
	if err != nil {
		var exit *procexec.ExitError
		if msg := strings.TrimSpace(stderr.String()); msg != "" && errors.As(err, &exit) {
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
