package supervisor

import (
	"errors"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/outcome"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// scanner reads spool/new/ for the machine, on the spool executor: a job file is I/O, and
// nothing dropped into the spool may delay dispatch or signals (SPEC §5.1, §8). It
// remembers what it has read, so that a scan of a long queue reads only the new files, and
// it sets aside at once whatever is not a valid job file.
type scanner struct {
	jobs   *outcome.Jobs
	layout workdir.Layout
	log    *slog.Logger
	known  map[string]scanned // by file name
	stuck  map[string]bool    // files that could not even be moved to bad/: logged once
	// cleaned is when tmp/ was last cleared of what crashed writers left.
	cleaned time.Time
}

type scanned struct {
	mtime time.Time
	size  int64
	job   spool.Job
}

func newScanner(jobs *outcome.Jobs, layout workdir.Layout, log *slog.Logger) *scanner {
	return &scanner{jobs: jobs, layout: layout, log: log, known: map[string]scanned{}, stuck: map[string]bool{}}
}

// answer is one scan, as the machine asked for it with seq.
func (sc *scanner) answer(seq int) Scanned {
	queue, young, err := sc.scan()
	return Scanned{Seq: seq, Queue: queue, Young: young, Err: err, Canceled: sc.cancels()}
}

// cancels reads the cancel records of the claimed jobs.
func (sc *scanner) cancels() map[string]outcome.Cancel {
	entries, _ := sc.jobs.Spool().List(spool.Cur)
	var out map[string]outcome.Cancel
	for _, e := range entries {
		if c := sc.jobs.CancelOf(e.Name); c.Kind != outcome.NotCanceled {
			if out == nil {
				out = map[string]outcome.Cancel{}
			}
			out[e.Name] = c
		}
	}
	return out
}

// isYoung reports whether a file modified at mtime may still be being written. A time in
// the future (a skewed clock, or a touch -d) is not young: it would stay young for ever.
func isYoung(mtime time.Time) bool {
	age := time.Since(mtime)
	return age >= 0 && age < youngFile
}

// scan lists new/ and returns the valid jobs in FIFO order, and whether a young file that
// does not parse was left for later.
func (sc *scanner) scan() (queue []Queued, young bool, err error) {
	sp := sc.jobs.Spool()
	if time.Since(sc.cleaned) > cleanTmpEvery {
		sp.CleanTmp(staleTmp)
		sc.cleaned = time.Now()
	}
	entries, err := sp.List(spool.New)
	if err != nil {
		return nil, false, err
	}
	if sc.redateFuture(entries) {
		if entries, err = sp.List(spool.New); err != nil {
			return nil, false, err
		}
	}
	seen := map[string]bool{}
	retried := sc.jobs.WithAttempts()
	for _, e := range entries {
		seen[e.Name] = true
		k, state := sc.parse(e)
		if state == waitForIt {
			young = true
		}
		if state != parsed {
			continue
		}
		job := k.job
		job.Attempts = nil
		// They change while the file does not. While a job of that name is claimed (a
		// writer reused the name of a job whose retry runs), they are that job's.
		if retried[e.Name] && !sp.Claimed(e.Name) {
			job.Attempts = sc.jobs.Attempts(e.Name)
		}
		queue = append(queue, Queued{Name: e.Name, Job: job, BuiltBy: sc.builtBy(e.Name, job, e.ModTime)})
	}
	for name := range sc.known {
		if !seen[name] {
			delete(sc.known, name)
		}
	}
	return queue, young, nil
}

// parseState is what became of a file of new/ at a scan.
type parseState int

const (
	parsed    parseState = iota // a job
	waitForIt                   // young, and perhaps still being written: looked at again later
	skipped                     // set aside, or gone since the listing
)

// parse reads the job file of entry e, or takes it from what an earlier scan read while
// the file has not changed; a file that is no job is set aside, unless it is young.
func (sc *scanner) parse(e spool.Entry) (scanned, parseState) {
	if strings.HasPrefix(e.Name, ".") {
		// Maildir readers skip dot names; in pipelined's spool one would wait for ever.
		// A young one may be a copying tool's temporary file, renamed in a moment.
		if isYoung(e.ModTime) {
			return scanned{}, waitForIt
		}
		sc.reject(e.Name, "a name starting with '.' is not a job file's: write jobs to spool/tmp/ and rename them into spool/new/ under a plain name")
		return scanned{}, skipped
	}
	if k, ok := sc.known[e.Name]; ok && k.mtime.Equal(e.ModTime) && k.size == e.Size {
		return k, parsed
	}
	job, err := sc.jobs.Read(spool.New, e.Name)
	var rej *spool.RejectError
	switch {
	case errors.As(err, &rej) && e.Mode.IsRegular() && e.Size <= spool.MaxJobSize && isYoung(e.ModTime):
		return scanned{}, waitForIt
	case errors.As(err, &rej):
		sc.reject(e.Name, rej.Reason)
		return scanned{}, skipped
	case errors.Is(err, fs.ErrNotExist):
		return scanned{}, skipped // claimed or removed since the listing
	case err != nil:
		sc.reject(e.Name, "cannot be read: "+err.Error())
		return scanned{}, skipped
	}
	if len(job.Ignored) > 0 {
		sc.log.Warn("ignored fields of a job file that only pipelined writes", "job", e.Name, "fields", strings.Join(job.Ignored, ","))
	}
	k := scanned{mtime: e.ModTime, size: e.Size, job: job}
	sc.known[e.Name] = k
	return k, parsed
}

// redateFuture dates the files of new/ whose time is in the future now, and reports whether
// there were any. The queue is in the order of the files' times: a job file dated years ahead
// (touch -d, cp -p, a writer whose clock is ahead) would stay the newest of its ref for ever,
// superseding every job queued after it. It is queued as of when it was first seen.
func (sc *scanner) redateFuture(entries []spool.Entry) bool {
	now, any := time.Now(), false
	for _, e := range entries {
		if e.ModTime.After(now) {
			any = true
			if err := sc.jobs.Spool().Redate(spool.New, e.Name, now); err == nil {
				sc.log.Warn("a job file was dated in the future; it is queued as of now", "job", e.Name,
					"dated", e.ModTime.UTC().Format(time.RFC3339))
			}
		}
	}
	return any
}

// forget drops what the scanner remembers of the queued job name, which was just claimed.
// Should it come back into new/ under that name (requeued, or retried after an
// infrastructure error), its file has the same time and size as before, while what the
// daemon recorded of it apart from the file has changed: its attempts, and with them its
// back-off.
func (sc *scanner) forget(name string) { delete(sc.known, name) }

// reject moves a file that is not a job to bad/ with the reason (SPEC §5.1). A file that
// cannot be moved either is logged once and left alone.
func (sc *scanner) reject(name, reason string) {
	dest, err := sc.jobs.SetAside(spool.New, name, reason)
	switch {
	case err == nil:
		sc.log.Warn("rejected a job file", "job", name, "reason", reason, "moved_to", dest)
	case dest != "":
		sc.log.Warn("rejected a job file", "job", name, "reason", reason, "moved_to", dest, "error", err.Error())
	case !sc.stuck[name]:
		sc.stuck[name] = true
		sc.log.Error("a file in the spool is not a job and cannot be moved to bad/; remove it", "job", name,
			"reason", reason, "error", err.Error())
	}
}

// builtBy returns the directory of a build of the job's commit that met the job's want
// already, "" if none did (SPEC §5: a job for a commit that is built is not built again
// unless it says so): a build of another job that reached a result of its own (success,
// failed, skipped; a canceled build met nothing). For a job that asks for a rebuild only a
// build that started after the job was queued counts: the build it asks to repeat does not
// meet it. A job's own earlier attempts never count (a job requeued after a shutdown must
// build again), but an earlier job's of the same name do.
func (sc *scanner) builtBy(name string, job spool.Job, queued time.Time) string {
	if job.Commit == "" || !sc.layout.Exists(job.Project, job.Ref, job.Commit) {
		return ""
	}
	return buildlog.MetBy(sc.layout.RefDir(job.Project, job.Ref), job.Commit, name, queued, job.Rebuild)
}
