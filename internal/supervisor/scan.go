package supervisor

import (
	"errors"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"pipelined/internal/buildlog"
	"pipelined/internal/spool"
	"pipelined/internal/workdir"
)

// scanner reads spool/new/ for the main loop, on a goroutine of its own: a job file is
// I/O, and nothing dropped into the spool may delay dispatch or signals (SPEC §5.1, §8).
// It remembers what it has read, so that a scan of a long queue reads only the new files,
// and it sets aside at once whatever is not a valid job file.
type scanner struct {
	spool  *spool.Spool
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

// scanResult is one scan's view of the queue, in FIFO order. seq is the main loop's
// modification count when the scan was asked for: a scan that raced a change the main loop
// made itself is stale.
type scanResult struct {
	seq   int
	queue []queued
	err   error
	// young is set when a file that is not (yet) a valid job was left for a moment: a
	// writer that ignores the maildir rule may still be writing it.
	young bool
}

func newScanner(sp *spool.Spool, layout workdir.Layout, log *slog.Logger) *scanner {
	return &scanner{spool: sp, layout: layout, log: log, known: map[string]scanned{}, stuck: map[string]bool{}}
}

// run answers each request (the main loop's modification count) with a scanResult sent
// through send, until requests is closed.
func (sc *scanner) run(requests <-chan int, send func(any)) {
	for seq := range requests {
		queue, young, err := sc.scan()
		send(scanResult{seq: seq, queue: queue, err: err, young: young})
	}
}

// youngFile is how long a file that does not parse is left alone before it is set aside:
// a writer copying a job straight into new/ may not have finished it.
const youngFile = 2 * time.Second

// isYoung reports whether a file modified at mtime may still be being written. A time in
// the future (a skewed clock, or a touch -d) is not young: it would stay young for ever.
func isYoung(mtime time.Time) bool {
	age := time.Since(mtime)
	return age >= 0 && age < youngFile
}

// scan lists new/ and returns the valid jobs in FIFO order, and whether a young file that
// does not parse was left for later.
func (sc *scanner) scan() (queue []queued, young bool, err error) {
	if time.Since(sc.cleaned) > cleanTmpEvery {
		sc.spool.CleanTmp(staleTmp)
		sc.cleaned = time.Now()
	}
	entries, err := sc.spool.List(spool.New)
	if err != nil {
		return nil, false, err
	}
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.Name] = true
		k, ok := sc.known[e.Name]
		if !ok || !k.mtime.Equal(e.ModTime) || k.size != e.Size {
			job, err := sc.spool.Read(spool.New, e.Name)
			var rej *spool.RejectError
			switch {
			case errors.As(err, &rej) && e.Mode.IsRegular() && e.Size <= spool.MaxJobSize && isYoung(e.ModTime):
				young = true
				continue
			case errors.As(err, &rej):
				sc.reject(e.Name, rej.Reason)
				continue
			case errors.Is(err, fs.ErrNotExist):
				continue // claimed or removed since the listing
			case err != nil:
				sc.reject(e.Name, "cannot be read: "+err.Error())
				continue
			}
			k = scanned{mtime: e.ModTime, size: e.Size, job: job}
			sc.known[e.Name] = k
		}
		queue = append(queue, queued{name: e.Name, job: k.job, since: e.ModTime, builtBy: sc.builtBy(e.Name, k.job, e.ModTime)})
	}
	for name := range sc.known {
		if !seen[name] {
			delete(sc.known, name)
		}
	}
	return queue, young, nil
}

// reject moves a file that is not a job to bad/ with the reason (SPEC §5.1). A file that
// cannot be moved either is logged once and left alone.
func (sc *scanner) reject(name, reason string) {
	dest, err := sc.spool.Reject(spool.New, name, reason)
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

// builtBy returns the directory of a build of the job's commit that another job (or a
// hand-run pipeline-build) made, for jobs the watcher wrote, and for retries of other jobs
// a build that started after the job was queued and reached a result of its own (a
// rebuild asked for by hand is not met by the build it asks to repeat, nor by a canceled
// one); "" otherwise. A job's own
// earlier attempts do not count: a job requeued after a shutdown must build again.
func (sc *scanner) builtBy(name string, job spool.Job, queued time.Time) string {
	watch := job.Source == spool.SourceWatch
	if !watch && len(job.Attempts) == 0 || job.Commit == "" || !sc.layout.Exists(job.Project, job.Ref, job.Commit) {
		return ""
	}
	short := workdir.ShortCommit(job.Commit)
	dirs, _ := filepath.Glob(filepath.Join(sc.layout.RefDir(job.Project, job.Ref), short+"*"))
	for _, dir := range dirs {
		st, err := buildlog.LoadStatus(workdir.StatusPath(dir))
		// A directory without a readable status is a build that failed to start (a full
		// disk): it built nothing.
		if err == nil && st.JobCommit() == job.Commit && st.Job != name && (watch || st.Started.After(queued) && st.Final()) {
			return dir
		}
	}
	return ""
}
