package outcome

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"

	"pipelined/internal/spool"
)

// Jobs carries out outcomes on the job files of a spool: it is the only code that claims,
// removes, requeues, retries or sets aside a job (SPEC §5.1). Every move keeps both files
// when two jobs share a name: a queued job is given a fresh name rather than replacing a
// claimed one, and the other way round.
type Jobs struct{ sp *spool.Spool }

// NewJobs returns the job keeper of a spool.
func NewJobs(sp *spool.Spool) *Jobs { return &Jobs{sp: sp} }

// Spool is the spool the jobs are in.
func (j *Jobs) Spool() *spool.Spool { return j.sp }

// WithAttempts lists the jobs the daemon has recorded attempts for: a reader that keeps job
// files it has read (their content never changes) reads their attempts, which do, again.
func (j *Jobs) WithAttempts() map[string]bool {
	entries, _ := j.sp.List(spool.Attempts)
	names := make(map[string]bool, len(entries))
	for _, e := range entries {
		names[e.Name] = true
	}
	return names
}

// Attempts returns the attempts recorded for the job name.
func (j *Jobs) Attempts(name string) []spool.Attempt { return readAttempts(j.sp, name) }

// Read reads a job file in sub with the attempts the daemon recorded for it.
func (j *Jobs) Read(sub, name string) (spool.Job, error) {
	job, err := j.sp.Read(sub, name)
	if err == nil {
		job.Attempts = readAttempts(j.sp, name)
	}
	return job, err
}

// Claim moves the queued job name into cur/ for a build and returns its name there. When
// cur/ holds a job of that name already (a writer reused the name of a running job), the
// queued job is first given a fresh name: both jobs are kept, and both are built. So is a
// job whose name is longer than maxName.
func (j *Jobs) Claim(name string) (string, error) {
	if len(name) <= maxName {
		if !j.sp.Claimed(name) {
			// A cancel record without its job is an earlier job's of that name, left by a
			// daemon killed before it removed it: a record is only written for a claimed job.
			removeCancel(j.sp.Path(spool.Cur, name))
		}
		err := j.sp.Claim(name)
		if !errors.Is(err, spool.ErrNameTaken) {
			return name, err
		}
	}
	// Attempts recorded under the name are the claimed job's (a newcomer has none): they
	// stay.
	fresh, err := j.freshName(spool.New, name)
	if errors.Is(err, fs.ErrNotExist) {
		return "", spool.ErrClaimed
	}
	if err != nil {
		return "", err
	}
	return fresh, j.sp.Claim(fresh)
}

// maxName bounds the name of a claimed job: the records beside it are longer (its cancel
// record .NAME.cancel, their temporary files .NAME.cancel.RANDOM), and a name near NAME_MAX
// (255 bytes) would leave no room for them — a running build of it could not be canceled.
const maxName = 200

// ClaimedAt returns when the claimed job name was last claimed (the time rename(2) gave its
// file in cur/ as its change time), or the zero time if it is not in cur/. Builds of this
// claim start after it; a build recorded under the same name that started before it was
// another job's (a writer that names its files the same way each time) or an earlier
// attempt's, and says nothing of how this one went.
func (j *Jobs) ClaimedAt(name string) time.Time {
	info, err := os.Lstat(j.sp.Path(spool.Cur, name))
	if err != nil {
		return time.Time{}
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return time.Time{}
	}
	return time.Unix(st.Ctim.Unix())
}

// rename gives a job in sub a fresh unique name, its attempts following it.
func (j *Jobs) rename(sub, name string) (string, error) {
	fresh, err := j.freshName(sub, name)
	if err == nil {
		moveAttempts(j.sp, name, fresh)
	}
	return fresh, err
}

// freshName gives a job in sub a fresh unique name.
func (j *Jobs) freshName(sub, name string) (string, error) {
	for {
		fresh := spool.UniqueName()
		err := j.sp.Rename(sub, name, fresh)
		if errors.Is(err, spool.ErrNameTaken) {
			continue
		}
		if err != nil {
			return "", err
		}
		return fresh, nil
	}
}

// Finish removes a claimed job whose want is met (Done) or withdrawn (Withdraw), with its
// records. If the job cannot be removed, its records stay with it for the next try.
func (j *Jobs) Finish(name string) error {
	if err := j.sp.Remove(spool.Cur, name); err != nil {
		return err
	}
	j.forget(name)
	return nil
}

// forget removes the records of a job that has left cur/.
func (j *Jobs) forget(name string) {
	removeCancel(j.sp.Path(spool.Cur, name))
	removeAttempts(j.sp, name)
}

// Requeue moves a claimed job back into new/ at its old place in the queue (a build
// canceled by the shutdown), and returns its name there. Its cancel record goes only once
// the job has left cur/: a requeue that fails is tried again, and the record is what says
// the job must be requeued.
func (j *Jobs) Requeue(name string) (string, error) {
	queued, err := j.back(name)
	if err == nil {
		removeCancel(j.sp.Path(spool.Cur, name))
	}
	return queued, err
}

// back moves the claimed job name into new/, under a fresh name if new/ has one like it.
func (j *Jobs) back(name string) (string, error) {
	err := j.sp.Requeue(name)
	if !errors.Is(err, spool.ErrNameTaken) {
		return name, err
	}
	fresh, err := j.rename(spool.Cur, name)
	if err != nil {
		return "", err
	}
	removeCancel(j.sp.Path(spool.Cur, name))
	return fresh, j.sp.Requeue(fresh)
}

// Retry records one more attempt of a claimed job an infrastructure error stopped, and
// puts it back into new/ at its old place, pinned to commit when its file had none (a
// retry is the same build again). It returns the job's name in new/. When the attempts
// cannot be recorded (the disk is full), the job goes back all the same and the error says
// so: the caller counts the attempts in memory.
func (j *Jobs) Retry(name string, job spool.Job, attempts []spool.Attempt) (string, error) {
	werr := writeAttempts(j.sp, name, attempts)
	if werr == nil && job.Commit != "" {
		if file, err := j.sp.Read(spool.Cur, name); err == nil && file.Commit == "" {
			job.Attempts, job.Ignored = nil, nil
			werr = j.pin(name, job)
		}
	}
	if !j.sp.Claimed(name) {
		removeCancel(j.sp.Path(spool.Cur, name))
		return name, werr // pinned: the new file is in new/
	}
	queued, err := j.Requeue(name)
	switch {
	case err != nil && werr != nil:
		return "", fmt.Errorf("%v; and moving it back to new/: %w", werr, err)
	case err != nil:
		return "", err
	case werr != nil:
		return queued, fmt.Errorf("recording the attempt: %w", werr)
	}
	return queued, nil
}

// pin writes the claimed job again into new/ with its commit, under its own name or, if
// new/ has that name, a fresh one.
func (j *Jobs) pin(name string, job spool.Job) error {
	err := j.sp.Rewrite(name, job)
	if errors.Is(err, spool.ErrNameTaken) {
		var fresh string
		if fresh, err = j.rename(spool.Cur, name); err == nil {
			removeCancel(j.sp.Path(spool.Cur, name))
			err = j.sp.Rewrite(fresh, job)
		}
	}
	return err
}

// SetAside moves a job file (or whatever else is in its place) from sub to bad/ with the
// reason beside it, and returns where it went. A job that is not a job is never dropped.
func (j *Jobs) SetAside(sub, name, reason string) (string, error) {
	dest, err := j.sp.Reject(sub, name, reason)
	if dest != "" {
		if sub == spool.Cur {
			removeCancel(j.sp.Path(spool.Cur, name))
		}
		removeAttempts(j.sp, name)
	}
	return dest, err
}

// Drop removes a queued job whose want is met already: running or queued ahead, built, or
// superseded by a newer commit of its ref.
func (j *Jobs) Drop(name string) error {
	if err := j.sp.Remove(spool.New, name); err != nil {
		return err
	}
	removeAttempts(j.sp, name)
	return nil
}

// CancelQueued withdraws a queued job by hand, whether a daemon runs or not: it is claimed
// first, so that no daemon starts it meanwhile, then removed. spool.ErrClaimed means a
// daemon took it first: cancel it as a claimed job.
func (j *Jobs) CancelQueued(name string) error {
	claimed, err := j.Claim(name)
	if err != nil {
		return err
	}
	return j.Finish(claimed)
}

// Cancel records why the claimed job name's build is canceled, unless a record as strong is
// there already, and reports whether it wrote one. A job that has left cur/ meanwhile (its
// build ended and its job was settled) has nothing to cancel: false, and no record stays.
func (j *Jobs) Cancel(name string, c Cancel) (bool, error) {
	path := j.sp.Path(spool.Cur, name)
	if !j.sp.Claimed(name) {
		return false, fs.ErrNotExist
	}
	wrote, err := WriteCancel(CancelPath(path), c)
	if wrote && !j.sp.Claimed(name) {
		removeCancel(path) // settled meanwhile: the record would only confuse a later job of that name
		return false, fs.ErrNotExist
	}
	return wrote, err
}

// CancelOf returns the cancel record of the claimed job name.
func (j *Jobs) CancelOf(name string) Cancel {
	return ReadCancel(CancelPath(j.sp.Path(spool.Cur, name)))
}
