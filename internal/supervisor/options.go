package supervisor

import (
	"log/slog"
	"os"
	"time"

	"pipelined/internal/engine"
)

// Options configure the daemon.
type Options struct {
	Config   string        // the operator's configuration file
	Workdir  string        // the work directory
	Limit    int           // builds at most at once (--limit, default 1)
	Interval time.Duration // between two polls of a remote; 0 runs no watcher (webhooks only)
	// PollTimeout bounds one git ls-remote of the watcher; 0 for the watcher's default.
	PollTimeout time.Duration
	// Engines are the Docker engines builds run on (--engine); none means one, "local",
	// the environment's own Docker, with Limit slots.
	Engines []engine.Engine
	Grace   time.Duration // a canceled build's time to stop; see the budgets below
	// EngineCheck is how often an engine running builds is asked whether it still answers,
	// EngineTimeout how long one such probe may take, and Rescan how often spool/new/ is
	// listed without an fsnotify event and outcomes not yet carried out are tried again;
	// 0 means engineCheckEvery, engineProbeTimeout and rescanEvery.
	EngineCheck, EngineTimeout, Rescan time.Duration
	Logger                             *slog.Logger
	Build                              string // path of pipeline-build
	Watch                              string // path of pipeline-watch
	Version                            string // for the start log line
	// Signals, if set, delivers the signals of DaemonSignals, caught by the caller since
	// before Run: a signal during start-up waits there until the daemon acts on it.
	Signals <-chan os.Signal
}

// Budgets (SPEC §7.4, §8). Each outer one exceeds the inner ones:
//
//   - Grace (default procexec.DefaultGrace, 10 s): a canceled pipeline-build stops its command, removes its
//     container and runs error_callback within it (see package build);
//   - a build still running buildKillAfter(Grace) = Grace + 0.5 s after SIGTERM gets
//     SIGKILL, to its process group, and is recorded as canceled by the daemon;
//   - the daemon exits by exitDeadline(Grace) + shutdownBound = Grace + 1 s after
//     SIGTERM/SIGQUIT, whatever the builds do;
//   - scripts/pipelined.service gives TimeoutStopSec=30 s, above the default exit deadline.
const (
	// rescanEvery lists spool/new/ even without an fsnotify event: lost events cost
	// latency, never a job. It is also the only periodic wake-up of an idle daemon
	// (--rescan).
	rescanEvery = time.Minute
	// reloadDebounce waits for an editor or a deploy tool to finish writing the file.
	reloadDebounce = 300 * time.Millisecond
	// passBackoffMax caps the delay before the next pass after passes that failed to run.
	passBackoffMax = time.Minute
	// staleTmp is when a half-written job file in spool/tmp/ is removed; the scanner looks
	// for such files every cleanTmpEvery.
	staleTmp      = 24 * time.Hour
	cleanTmpEvery = time.Hour
	// startRetry pauses dispatching after pipeline-build could not be started.
	startRetry = 10 * time.Second
	// maxProblemsLogged bounds the problems of an invalid configuration logged at a reload.
	maxProblemsLogged = 20
	// youngFile is how long a file that does not parse is left alone before it is set
	// aside: a writer copying a job straight into new/ may not have finished it.
	youngFile = 2 * time.Second
	// watcherGrace is the time a pass of pipeline-watch has to exit on SIGTERM; it exits at
	// once.
	watcherGrace = 2 * time.Second
	// engineProbeTimeout bounds one `docker version` (--engine-timeout); engineRetryMax
	// caps the back-off between two probes of an engine that does not answer.
	engineProbeTimeout = 15 * time.Second
	engineRetryMax     = time.Minute
	// engineCheckEvery: while builds run on an engine, it is asked this often whether it
	// still answers. A docker command of a build has no bound of its own, and an engine
	// that hangs (a host gone from the network) would hold its builds for ever
	// (--engine-check).
	engineCheckEvery = 30 * time.Second
)

// orDefault is d, or def when d is not set.
func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func exitDeadline(grace time.Duration) time.Duration { return grace + time.Second - shutdownBound }

func buildKillAfter(grace time.Duration) time.Duration { return grace + 500*time.Millisecond }
