package outcome

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"pipelined/internal/atomicfile"
	"pipelined/internal/safeopen"
	"pipelined/internal/spool"
)

// A job's attempts live in spool/attempts/NAME, written by the daemon alone: a job file
// dropped into new/ cannot claim attempts of its own (and so cannot hold its commit back
// until 2099). They follow the job when it is renamed and go when it leaves the spool.

// maxReason bounds an attempt's reason.
const maxReason = 400

// maxAttemptsFile bounds the attempts file: MaxAttempts reasons with room to spare.
const maxAttemptsFile = 16 << 10

// WithAttempt returns attempts with one more, its reason shortened to fit. Only the last
// MaxAttempts are kept: a job an operator moved back from bad/ gets one more try.
func WithAttempt(attempts []spool.Attempt, at time.Time, reason string) []spool.Attempt {
	if len(reason) > maxReason {
		reason = strings.ToValidUTF8(reason[:maxReason], "") + "…"
	}
	all := append(append([]spool.Attempt(nil), attempts...), spool.Attempt{At: at.UTC(), Reason: reason})
	return all[max(0, len(all)-MaxAttempts):]
}

// RetryAt is when a job with attempts may run again: firstRetry after its last attempt,
// doubling with each attempt, at most maxRetry. A job without attempts may run at once.
func RetryAt(attempts []spool.Attempt) time.Time {
	n := len(attempts)
	if n == 0 {
		return time.Time{}
	}
	delay := firstRetry
	for i := 1; i < n && delay < maxRetry; i++ {
		delay *= 2
	}
	return attempts[n-1].At.Add(min(delay, maxRetry))
}

// readAttempts reads the attempts recorded for the job name; none when there are none or
// the record cannot be read.
func readAttempts(sp *spool.Spool, name string) []spool.Attempt {
	f, err := safeopen.Open(sp.Path(spool.Attempts, name), unix.O_RDONLY, maxAttemptsFile, false)
	if err != nil {
		return nil
	}
	defer f.Close()
	data, _ := io.ReadAll(io.LimitReader(f, maxAttemptsFile))
	var attempts []spool.Attempt
	if json.Unmarshal(data, &attempts) != nil {
		return nil
	}
	return attempts[max(0, len(attempts)-MaxAttempts):]
}

// writeAttempts records the job's attempts, synced: a crash right after still counts them.
func writeAttempts(sp *spool.Spool, name string, attempts []spool.Attempt) error {
	data, _ := json.Marshal(attempts)
	return atomicfile.WriteSynced(sp.Path(spool.Attempts, name), append(data, '\n'), 0o666)
}

// moveAttempts makes the attempts of the job name those of newName.
func moveAttempts(sp *spool.Spool, name, newName string) {
	if attempts := readAttempts(sp, name); attempts != nil {
		if writeAttempts(sp, newName, attempts) != nil {
			return
		}
	}
	removeAttempts(sp, name)
}

func removeAttempts(sp *spool.Spool, name string) {
	if err := unix.Unlink(sp.Path(spool.Attempts, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return
	}
}
