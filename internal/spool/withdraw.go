package spool

import (
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// A job is withdrawn — canceled on purpose: by hand (`pipelined cancel`), or superseded by a
// newer commit — by a marker file beside it in cur/, ".NAME.withdrawn", holding the reason.
// The build reads it when it is canceled, for its build.json; the supervisor reads it when
// the build has ended, and removes the job instead of requeuing it (SPEC §5.1). A marker
// outlives both processes, so that a daemon started later still honours it.

// maxWithdrawReason bounds the reason in a marker.
const maxWithdrawReason = 1024

// WithdrawMarker is the path of the marker of the job file at jobPath.
func WithdrawMarker(jobPath string) string {
	return filepath.Join(filepath.Dir(jobPath), "."+filepath.Base(jobPath)+".withdrawn")
}

// InterruptMarker is the path of the other marker of a job file: its build was stopped for
// an infrastructure reason (its Docker engine stopped answering), and the job is retried.
func InterruptMarker(jobPath string) string {
	return filepath.Join(filepath.Dir(jobPath), "."+filepath.Base(jobPath)+".interrupted")
}

// StopMarker is the path of the marker the daemon leaves beside a job whose build it
// cancels as it shuts down: a build that ends canceled with it is built again; one that
// ends canceled without it (or any other marker) was canceled by an operator's signal.
func StopMarker(jobPath string) string {
	return filepath.Join(filepath.Dir(jobPath), "."+filepath.Base(jobPath)+".stopped")
}

// MarkStopped marks the claimed job name's build as canceled by the daemon's shutdown.
func (s *Spool) MarkStopped(name string) error {
	return WriteMarker(StopMarker(s.Path(Cur, name)), StoppedReason)
}

// StoppedReason is why a build canceled by the daemon's shutdown was canceled.
const StoppedReason = "canceled because pipelined stopped; it is built again at the next start"

// Stopped reports whether the claimed job name's build was canceled by a shutdown.
func (s *Spool) Stopped(name string) bool { return ReadMarker(StopMarker(s.Path(Cur, name))) != "" }

// Interrupt marks the claimed job name as stopped for an infrastructure reason.
func (s *Spool) Interrupt(name, reason string) error {
	return WriteMarker(InterruptMarker(s.Path(Cur, name)), reason)
}

// Interrupted returns why the claimed job name's build was interrupted, or "".
func (s *Spool) Interrupted(name string) string {
	return ReadMarker(InterruptMarker(s.Path(Cur, name)))
}

// Withdraw marks the claimed job name as canceled on purpose, for reason.
func (s *Spool) Withdraw(name, reason string) error {
	return WriteMarker(WithdrawMarker(s.Path(Cur, name)), reason)
}

// WriteMarker writes reason to path whole or not at all (a temporary file, then a rename).
func WriteMarker(path, reason string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(reason+"\n"), 0o666); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// ReadMarker returns the reason in the marker at path, or "" if there is none.
func ReadMarker(path string) string {
	f, err := openRegular(path, unix.O_RDONLY, maxWithdrawReason)
	if err != nil {
		return ""
	}
	defer f.Close()
	data, _ := io.ReadAll(io.LimitReader(f, maxWithdrawReason))
	reason := strings.TrimSpace(string(data))
	if reason == "" {
		reason = "canceled on purpose"
	}
	return reason
}

// Unwithdraw removes the withdraw marker of a job that left cur/ before it was written.
func (s *Spool) Unwithdraw(name string) { os.Remove(WithdrawMarker(s.Path(Cur, name))) }

// Withdrawn returns why the claimed job name was withdrawn, or "".
func (s *Spool) Withdrawn(name string) string { return ReadMarker(WithdrawMarker(s.Path(Cur, name))) }

// clearMarks removes the marker of a claimed job that leaves cur/.
func (s *Spool) clearMarks(name string) {
	os.Remove(WithdrawMarker(s.Path(Cur, name)))
	os.Remove(InterruptMarker(s.Path(Cur, name)))
	os.Remove(StopMarker(s.Path(Cur, name)))
}
