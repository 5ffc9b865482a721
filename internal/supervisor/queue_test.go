package supervisor

import (
	"strings"
	"testing"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/spool"
)

func testConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Parse(strings.NewReader("[a]\nremote = /r\n\n[b]\nremote = /r\n\n[off]\nremote = /r\nenabled = False\n"), "test.ini")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func commit(c byte) string { return strings.Repeat(string(c), 40) }

func job(name, project, ref, c string) queued {
	return queued{name: name, job: spool.Job{Project: project, Ref: "refs/heads/" + ref, Commit: c, Source: spool.SourceWebhook}}
}

// summary is the decisions as "name:action[:reason]" words, for comparison.
func summary(ds []decision) string {
	var out []string
	for _, d := range ds {
		w := d.q.name + ":" + [...]string{"start", "drop", "refuse"}[d.action]
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

func TestPlanStartsFIFOWithinTheFreeSlots(t *testing.T) {
	cfg := testConfig(t)
	queue := []queued{job("1", "a", "main", commit('1')), job("2", "b", "main", commit('2')), job("3", "a", "dev", commit('3'))}
	ds, wake := plan(queue, nil, 2, cfg, time.Now())
	if got := summary(ds); got != "1:start 2:start" {
		t.Errorf("plan = %s", got)
	}
	if !wake.IsZero() {
		t.Errorf("wake = %v with no job in back-off", wake)
	}
	if ds, _ := plan(queue, nil, 0, cfg, time.Now()); len(ds) != 0 {
		t.Errorf("with no free slot: %s", summary(ds))
	}
}

func TestPlanDropsDuplicatesAndRefusesWhatTheConfigurationDoesNot(t *testing.T) {
	cfg := testConfig(t)
	running := []spool.Job{{Project: "a", Ref: "refs/heads/main", Commit: commit('1')}}
	queue := []queued{
		job("running-dup", "a", "main", commit('1')),
		job("unknown", "nope", "main", commit('2')),
		job("disabled", "off", "main", commit('2')),
		job("first", "b", "main", commit('3')),
		job("queued-dup", "b", "main", commit('3')),
		job("latest-1", "b", "dev", ""),
		job("latest-2", "b", "dev", ""),
	}
	built := job("built", "a", "x", commit('4'))
	built.builtBy = "/w/a/x/44444444"
	queue = append(queue, built)
	ds, _ := plan(queue, running, 5, cfg, time.Now())
	want := "running-dup:drop unknown:refuse disabled:refuse first:start queued-dup:drop latest-1:start latest-2:drop built:drop"
	if got := summary(ds); got != want {
		t.Errorf("plan =\n  %s\nwant\n  %s", got, want)
	}
	for _, d := range ds {
		if d.action != start && d.reason == "" {
			t.Errorf("%s: no reason", d.q.name)
		}
	}
	// A commit-less job is not a duplicate of a running one: the ref may have moved since.
	running = []spool.Job{{Project: "b", Ref: "refs/heads/dev"}}
	if ds, _ := plan([]queued{job("again", "b", "dev", "")}, running, 1, cfg, time.Now()); summary(ds) != "again:start" {
		t.Errorf("a commit-less job behind a running one: %s", summary(ds))
	}
}

func TestPlanPassesOverJobsInBackOff(t *testing.T) {
	cfg := testConfig(t)
	now := time.Now()
	waiting := job("waiting", "a", "main", commit('1'))
	waiting.job = waiting.job.WithAttempt(now, "disk full")
	queue := []queued{waiting, job("behind", "b", "main", commit('2')), job("dup", "a", "main", commit('1'))}
	ds, wake := plan(queue, nil, 1, cfg, now)
	if got := summary(ds); got != "behind:start dup:drop" {
		t.Errorf("plan = %s: a job in back-off must not hold up the queue, and still counts as queued", got)
	}
	if want := spool.RetryAt(waiting.job); !wake.Equal(want) {
		t.Errorf("wake = %v, want the end of the back-off %v", wake, want)
	}
	ds, _ = plan(queue[:1], nil, 1, cfg, wake)
	if summary(ds) != "waiting:start" {
		t.Errorf("after the back-off: %s", summary(ds))
	}
}
