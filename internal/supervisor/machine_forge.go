package supervisor

import (
	"time"

	"pipelined/internal/config"
	"pipelined/internal/forge"
	"pipelined/internal/outcome"
	"pipelined/internal/spool"
)

// deliverState is the delivery of forge statuses (docs/forge.md). Builds write their status
// records into the outbox, and so does the daemon for what happens to a job between builds
// (a retry, bad/). The daemon never talks to a forge itself: it runs pipeline-build --deliver
// while records may be waiting, one at a time, so that an idle daemon holds no HTTP client
// and statuses of one commit are sent in order.
type deliverState struct {
	running  bool
	stopping bool          // asked to stop: the daemon is ending
	again    bool          // records may have come since the running delivery read the outbox
	retryAt  time.Time     // a delivery that failed to run is tried again then
	backoff  time.Duration // the last wait after a failure: 5 s, doubling up to a minute
}

// forgeReports reports whether some project reports to a forge: without one, the daemon
// runs no delivery at all.
func (m *Machine) forgeReports() bool {
	return m.cfg.anyForge
}

// deliver has the waiting statuses delivered: now, or once the running delivery ends.
func (m *Machine) deliver() {
	d := &m.fwd
	switch {
	case m.mode != serving && m.mode != draining, d.stopping, !m.forgeReports():
	case d.running:
		d.again = true
	default:
		d.running, d.again, d.retryAt = true, false, time.Time{}
		m.emit(StartDelivery{})
	}
}

// checkOutbox has the outbox looked at, at each rescan, while no delivery runs: a
// pipeline-build run by hand beside the daemon leaves its statuses there, and nothing else
// would tell the daemon.
func (m *Machine) checkOutbox() {
	d := &m.fwd
	if (m.mode == serving || m.mode == draining) && !d.stopping && !d.running && m.forgeReports() {
		m.emit(CheckOutbox{})
	}
}

func (m *Machine) onDelivered(ev DeliveryEnded) {
	d := &m.fwd
	d.running = false
	switch {
	case ev.Err != nil && m.mode != stopping:
		d.backoff = min(max(2*d.backoff, 5*time.Second), time.Minute)
		d.retryAt = m.now.Add(d.backoff)
		m.logWarn("the delivery of forge statuses failed; trying again", "error", ev.Err.Error(), "retry_in", d.backoff.String())
	case d.again:
		d.backoff = 0
		m.deliver()
	default:
		d.backoff = 0
	}
}

// reportJob queues the daemon's own status of a job, when its project reports to a forge.
func (m *Machine) reportJob(rec forge.Record, ok bool) {
	if ok {
		m.emit(QueueStatus{Record: rec})
	}
}

// reportRetry queues "retry N of 5" or, after the last attempt, "set aside" for a job an
// infrastructure error stopped.
func (m *Machine) reportRetry(job spool.Job, attempts []spool.Attempt, reason string) {
	var p *config.Project
	if v := m.project(job.Project); v != nil {
		p = v.reports
	}
	if p == nil {
		return // the project reports to no forge (forge.RetryReport says so too)
	}
	if len(attempts) >= outcome.MaxAttempts {
		m.reportJob(forge.SetAsideReport(p, job, len(attempts), reason, m.now))
		return
	}
	m.reportJob(forge.RetryReport(p, job, len(attempts), outcome.MaxAttempts, reason, m.now))
}

// reportSuperseded queues "superseded by SHORT" for a queued job dropped for a newer commit
// of its ref, when it had shown a pending retry on the forge.
func (m *Machine) reportSuperseded(job spool.Job, reason string) {
	if v := m.project(job.Project); v != nil && v.reports != nil {
		m.reportJob(forge.DroppedReport(v.reports, job, reason, m.now))
	}
}
