package outcome

// Results a build records in build.json (SPEC §5).
const (
	Running  = "running"
	Success  = "success"
	Failed   = "failed"
	Canceled = "canceled"
	Skipped  = "skipped"
)

// Final reports whether a result is the build's own (success, failed, skipped): its job's
// want is met, unless the build said an infrastructure error stopped it (retry).
func Final(result string, retry bool) bool {
	return !retry && (result == Success || result == Failed || result == Skipped)
}
