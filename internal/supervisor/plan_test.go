package supervisor

import (
	"strings"
	"testing"
	"time"

	"pipelined/internal/config"
	"pipelined/internal/engine"
	"pipelined/internal/outcome"
	"pipelined/internal/spool"
)

func testConfig(t *testing.T) *projectSet {
	t.Helper()
	cfg, err := config.Parse(strings.NewReader("[DEFAULT]\nsupersede = False\nserialize = False\n\n"+
		"[a]\nremote = /r\n\n[b]\nremote = /r\n\n[off]\nremote = /r\nenabled = False\n\n"+
		"[sup]\nremote = /r\nsupersede = True\n\n[int]\nremote = /r\nsupersede = True\ninterruptible = True\n\n"+
		"[one]\nremote = /r\nlimit = 1\n\n"+
		"[ser]\nremote = /r\nserialize = True\n\n[sersup]\nremote = /r\nserialize = True\nsupersede = True\n"), "test.ini")
	if err != nil {
		t.Fatal(err)
	}
	return newProjectSet(cfg)
}

// testPool is one engine, up, with room: projects with build = True can start.
func testPool() *engine.Pool {
	p := engine.NewPool([]engine.Engine{{Name: "local", Slots: 10}}, time.Now())
	p.SetUp("local", true, "", time.Now())
	return p
}

func commit(c byte) string { return strings.Repeat(string(c), 40) }

func job(name, project, ref, c string) Queued {
	return Queued{Name: name, Job: spool.Job{Project: project, Ref: "refs/heads/" + ref, Commit: c, Source: spool.SourceWebhook}}
}

// summary is the decisions as "name:action[:reason]" words, for comparison.
func summary(ds []decision) string {
	var out []string
	for _, d := range ds {
		w := d.q.Name + ":" + [...]string{"start", "drop", "refuse", "interrupt"}[d.action]
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

func TestPlanStartsFIFOWithinTheFreeSlots(t *testing.T) {
	cfg := testConfig(t)
	queue := []Queued{job("1", "a", "main", commit('1')), job("2", "b", "main", commit('2')), job("3", "a", "dev", commit('3'))}
	ds, wake := plan(queue, nil, 2, cfg, testPool(), time.Now())
	if got := summary(ds); got != "1:start 2:start" {
		t.Errorf("plan = %s", got)
	}
	if !wake.IsZero() {
		t.Errorf("wake = %v with no job in back-off", wake)
	}
	if ds, _ := plan(queue, nil, 0, cfg, testPool(), time.Now()); len(ds) != 0 {
		t.Errorf("with no free slot: %s", summary(ds))
	}
}

func TestPlanDropsDuplicatesAndRefusesWhatTheConfigurationDoesNot(t *testing.T) {
	cfg := testConfig(t)
	runs := []running{{name: "r", job: spool.Job{Project: "a", Ref: "refs/heads/main", Commit: commit('1')}}}
	queue := []Queued{
		job("running-dup", "a", "main", commit('1')),
		job("unknown", "nope", "main", commit('2')),
		job("disabled", "off", "main", commit('2')),
		job("first", "b", "main", commit('3')),
		job("queued-dup", "b", "main", commit('3')),
		job("latest-1", "b", "dev", ""),
		job("latest-2", "b", "dev", ""),
	}
	built := job("built", "a", "x", commit('4'))
	built.BuiltBy = "/w/a/x/44444444"
	queue = append(queue, built)
	ds, _ := plan(queue, runs, 5, cfg, testPool(), time.Now())
	want := "running-dup:drop unknown:refuse disabled:refuse first:start queued-dup:drop latest-1:start latest-2:drop built:drop"
	if got := summary(ds); got != want {
		t.Errorf("plan =\n  %s\nwant\n  %s", got, want)
	}
	for _, d := range ds {
		if d.action != start && d.reason == "" {
			t.Errorf("%s: no reason", d.q.Name)
		}
	}
	// A commit-less job is not a duplicate of a running one: the ref may have moved since.
	runs = []running{{name: "r", job: spool.Job{Project: "b", Ref: "refs/heads/dev"}}}
	if ds, _ := plan([]Queued{job("again", "b", "dev", "")}, runs, 1, cfg, testPool(), time.Now()); summary(ds) != "again:start" {
		t.Errorf("a commit-less job behind a running one: %s", summary(ds))
	}
}

func TestPlanPassesOverJobsInBackOff(t *testing.T) {
	cfg := testConfig(t)
	now := time.Now()
	waiting := job("waiting", "a", "main", commit('1'))
	waiting.Job.Attempts = outcome.WithAttempt(nil, now, "disk full")
	queue := []Queued{waiting, job("behind", "b", "main", commit('2')), job("dup", "a", "main", commit('1'))}
	ds, wake := plan(queue, nil, 1, cfg, testPool(), now)
	if got := summary(ds); got != "behind:start dup:drop" {
		t.Errorf("plan = %s: a job in back-off must not hold up the queue, and still counts as queued", got)
	}
	if want := outcome.RetryAt(waiting.Job.Attempts); !wake.Equal(want) {
		t.Errorf("wake = %v, want the end of the back-off %v", wake, want)
	}
	ds, _ = plan(queue[:1], nil, 1, cfg, testPool(), wake)
	if summary(ds) != "waiting:start" {
		t.Errorf("after the back-off: %s", summary(ds))
	}
}

func TestPlanSupersedesOlderJobsOfABranch(t *testing.T) {
	cfg := testConfig(t)
	tag := Queued{Name: "tag-old", Job: spool.Job{Project: "sup", Ref: "refs/tags/v1", Commit: commit('1')}}
	tagNew := Queued{Name: "tag-new", Job: spool.Job{Project: "sup", Ref: "refs/tags/v1", Commit: commit('2')}}
	queue := []Queued{
		job("c1", "sup", "main", commit('1')),
		job("other-branch", "sup", "dev", commit('1')),
		job("c2", "sup", "main", commit('2')),
		tag,
		job("no-supersede-1", "a", "main", commit('1')),
		job("c3", "sup", "main", commit('3')),
		job("c3-again", "sup", "main", commit('3')),
		job("no-supersede-2", "a", "main", commit('2')),
		tagNew,
	}
	ds, _ := plan(queue, nil, 10, cfg, testPool(), time.Now())
	want := "c1:drop other-branch:start c2:drop tag-old:start no-supersede-1:start c3:start c3-again:drop no-supersede-2:start tag-new:start"
	if got := summary(ds); got != want {
		t.Errorf("plan =\n  %s\nwant\n  %s", got, want)
	}
	for _, d := range ds {
		if d.q.Name == "c1" && d.reason != "superseded by 33333333" {
			t.Errorf("c1 dropped with %q", d.reason)
		}
	}
	// A newer job without a commit wants the branch's latest commit: it supersedes too.
	ds, _ = plan([]Queued{job("old", "sup", "main", commit('1')), job("latest", "sup", "main", "")}, nil, 10, cfg, testPool(), time.Now())
	if summary(ds) != "old:drop latest:start" || !strings.Contains(ds[0].reason, "latest commit of main") {
		t.Errorf("plan = %s (%q)", summary(ds), ds[0].reason)
	}
}

func TestPlanInterruptsARunningBuildOfAnInterruptibleProject(t *testing.T) {
	cfg := testConfig(t)
	runs := []running{
		{name: "int-main", job: spool.Job{Project: "int", Ref: "refs/heads/main", Commit: commit('1')}},
		{name: "sup-main", job: spool.Job{Project: "sup", Ref: "refs/heads/main", Commit: commit('1')}},
		{name: "int-dev", job: spool.Job{Project: "int", Ref: "refs/heads/dev", Commit: commit('1')}},
		{name: "int-tag", job: spool.Job{Project: "int", Ref: "refs/tags/v1", Commit: commit('1')}},
	}
	queue := []Queued{
		job("new-int-main", "int", "main", commit('2')),
		job("new-sup-main", "sup", "main", commit('2')),
		job("same-int-dev", "int", "dev", commit('1')),
		{Name: "new-int-tag", Job: spool.Job{Project: "int", Ref: "refs/tags/v1", Commit: commit('2')}},
	}
	ds, _ := plan(queue, runs, 0, cfg, testPool(), time.Now())
	if got := summary(ds); got != "int-main:interrupt same-int-dev:drop" {
		t.Errorf("plan = %s", got)
	}
	if ds[0].reason != "superseded by 22222222" {
		t.Errorf("interrupt reason %q", ds[0].reason)
	}
	runs[0].withdrawn = true
	if ds, _ := plan(queue, runs, 0, cfg, testPool(), time.Now()); strings.Contains(summary(ds), "interrupt") {
		t.Errorf("a build already being canceled is interrupted again: %s", summary(ds))
	}
	// A job without a commit (pipelined enqueue PROJECT BRANCH) may build the commit running.
	runs[0].withdrawn = false
	if ds, _ := plan([]Queued{job("latest-int-main", "int", "main", "")}, runs, 0, cfg, testPool(), time.Now()); strings.Contains(summary(ds), "interrupt") {
		t.Errorf("a job without a commit interrupts a running build: %s", summary(ds))
	}
	// Nor is a build without a commit interrupted: it may be building the queued commit.
	runs[0].job.Commit = ""
	if ds, _ := plan(queue, runs, 0, cfg, testPool(), time.Now()); strings.Contains(summary(ds), "int-main:interrupt") {
		t.Errorf("a build without a commit is interrupted: %s", summary(ds))
	}
}

func TestPlanKeepsAProjectWithinItsLimitWithoutHoldingUpOthers(t *testing.T) {
	cfg := testConfig(t)
	queue := []Queued{job("one-1", "one", "a", commit('1')), job("one-2", "one", "b", commit('2')),
		job("one-3", "one", "c", commit('3')), job("other", "b", "main", commit('4'))}
	ds, _ := plan(queue, nil, 4, cfg, testPool(), time.Now())
	if got := summary(ds); got != "one-1:start other:start" {
		t.Errorf("plan = %s", got)
	}
	runs := []running{{name: "one-1", job: queue[0].Job}}
	if ds, _ := plan(queue[1:], runs, 3, cfg, testPool(), time.Now()); summary(ds) != "other:start" {
		t.Errorf("with one build of the project running: %s", summary(ds))
	}
}

func TestPlanGivesDockerProjectsAnEngineWithASlot(t *testing.T) {
	parsed, err := config.Parse(strings.NewReader("[img]\nremote = /r\nbuild = True\nsupersede = False\n\n"+
		"[arm]\nremote = /r\nbuild = True\nengines = arm64\n\n[plain]\nremote = /r\n"), "test.ini")
	if err != nil {
		t.Fatal(err)
	}
	cfg := newProjectSet(parsed)
	now := time.Now()
	pool := engine.NewPool([]engine.Engine{{Name: "local", Slots: 1}, {Name: "arm64", Slots: 1}}, now)
	queue := []Queued{job("i1", "img", "a", commit('1')), job("arm", "arm", "a", commit('2')),
		job("i2", "img", "b", commit('3')), job("plain", "plain", "a", commit('4'))}
	// No engine has answered yet: only the project without Docker starts.
	ds, _ := plan(queue, nil, 10, cfg, pool, now)
	if got := summary(ds); got != "plain:start" {
		t.Errorf("plan with no engine up = %s", got)
	}
	pool.SetUp("local", true, "", now)
	pool.SetUp("arm64", false, "no answer", now)
	ds, _ = plan(queue, nil, 10, cfg, pool, now)
	if got := summary(ds); got != "i1:start plain:start" {
		t.Errorf("plan with local up = %s: arm waits for arm64, i2 for a free slot", got)
	}
	if ds[0].engine != "local" || ds[1].engine != "" {
		t.Errorf("engines chosen: %q, %q", ds[0].engine, ds[1].engine)
	}
	pool.SetUp("arm64", true, "", now)
	ds, _ = plan(queue, nil, 10, cfg, pool, now)
	if got := summary(ds); got != "i1:start arm:start plain:start" {
		t.Errorf("plan with both up = %s: i2 waits for a free slot", got)
	}
	if ds[0].engine != "local" || ds[1].engine != "arm64" {
		t.Errorf("engines chosen: %q %q", ds[0].engine, ds[1].engine)
	}
	if pool.States()[0].InUse != 0 {
		t.Error("plan took a slot of the pool it was given")
	}
}

// TestPlanRunsOneBuildOfARefAtATimeInOrder: with serialize, a newer commit of a ref waits
// for the running build, and every job of a ref waits behind the older ones — in back-off
// too — so the last deploy of a ref is its newest commit; other refs run beside.
func TestPlanRunsOneBuildOfARefAtATimeInOrder(t *testing.T) {
	cfg := testConfig(t)
	now := time.Now()
	runs := []running{{name: "running", job: spool.Job{Project: "ser", Ref: "refs/heads/main", Commit: commit('1')}}}
	queue := []Queued{job("main-2", "ser", "main", commit('2')), job("dev-1", "ser", "dev", commit('1'))}
	if got := summary(first(plan(queue, runs, 5, cfg, testPool(), now))); got != "dev-1:start" {
		t.Errorf("with main running: %s; want main-2 to wait and dev-1 to start", got)
	}
	if got := summary(first(plan(queue, nil, 5, cfg, testPool(), now))); got != "main-2:start dev-1:start" {
		t.Errorf("once main ended: %s", got)
	}
	// An older job of the ref in back-off holds the newer ones behind it.
	retry := job("main-1-retry", "ser", "main", commit('1'))
	retry.Job.Attempts = outcome.WithAttempt(nil, now, "disk full")
	queue = []Queued{retry, job("main-2", "ser", "main", commit('2')), job("main-3", "ser", "main", commit('3'))}
	ds, wake := plan(queue, nil, 5, cfg, testPool(), now)
	if len(ds) != 0 || wake.IsZero() {
		t.Errorf("behind a job in back-off: %s (wake %v); want nothing to start before the retry", summary(ds), wake)
	}
	// With supersede, the newest commit drops the older queued ones, even one in back-off,
	// and waits for the running build.
	queue = []Queued{job("a", "sersup", "main", commit('2')), job("b", "sersup", "main", commit('3'))}
	runs = []running{{name: "running", job: spool.Job{Project: "sersup", Ref: "refs/heads/main", Commit: commit('1')}}}
	if got := summary(first(plan(queue, runs, 5, cfg, testPool(), now))); got != "a:drop" {
		t.Errorf("supersede with a build running: %s; want a dropped and b waiting", got)
	}
	// serialize = False: builds of one ref side by side.
	queue = []Queued{job("x", "a", "main", commit('2'))}
	runs = []running{{name: "running", job: spool.Job{Project: "a", Ref: "refs/heads/main", Commit: commit('1')}}}
	if got := summary(first(plan(queue, runs, 5, cfg, testPool(), now))); got != "x:start" {
		t.Errorf("without serialize: %s", got)
	}
}

// TestPlanBuildsARebuildAfterTheSameCommit: a job that asks for a rebuild is never dropped
// as built, and waits for a build of its very commit rather than being dropped.
func TestPlanBuildsARebuildAfterTheSameCommit(t *testing.T) {
	cfg := testConfig(t)
	rebuild := job("rebuild", "a", "main", commit('1'))
	rebuild.Job.Rebuild = true
	runs := []running{{name: "running", job: spool.Job{Project: "a", Ref: "refs/heads/main", Commit: commit('1')}}}
	if ds, _ := plan([]Queued{rebuild}, runs, 5, cfg, testPool(), time.Now()); len(ds) != 0 {
		t.Errorf("a rebuild of the running commit: %s; want it to wait", summary(ds))
	}
	redelivered := job("again", "a", "main", commit('1'))
	if got := summary(first(plan([]Queued{redelivered}, runs, 5, cfg, testPool(), time.Now()))); got != "again:drop" {
		t.Errorf("a redelivery of the running commit: %s", got)
	}
	if got := summary(first(plan([]Queued{rebuild}, nil, 5, cfg, testPool(), time.Now()))); got != "rebuild:start" {
		t.Errorf("a rebuild once the commit ended: %s", got)
	}
}

func first(ds []decision, _ time.Time) []decision { return ds }

func TestPlanSupersedesOlderJobsOfAPullRequest(t *testing.T) {
	cfg := testConfig(t)
	pr := func(name, ref string, c byte) Queued {
		return Queued{Name: name, Job: spool.Job{Project: "sup", Ref: ref, Commit: commit(c), Source: spool.SourceWatch}}
	}
	queue := []Queued{pr("p1", "refs/pull/7/head", '1'), pr("other", "refs/pull/8/head", '1'), pr("p2", "refs/pull/7/head", '2')}
	ds, _ := plan(queue, nil, 10, cfg, testPool(), time.Now())
	if got, want := summary(ds), "p1:drop other:start p2:start"; got != want {
		t.Errorf("plan = %s, want %s: a request's head moves on like a branch", got, want)
	}
}

// TestPlanARedeliveryOfAnOlderCommitSupersedesNothing: a webhook redelivers the job of an
// older commit after a newer one was queued or started. Its want is met (built, running or
// queued ahead): it is dropped, and the newer commit is built, not superseded by it.
func TestPlanARedeliveryOfAnOlderCommitSupersedesNothing(t *testing.T) {
	cfg := testConfig(t)
	built := job("redelivered", "sup", "main", commit('1'))
	built.BuiltBy = "/w/sup/main/11111111"
	cases := []struct {
		what  string
		runs  []running
		queue []Queued
		want  string
	}{
		{"built", nil, []Queued{job("newer", "sup", "main", commit('2')), built}, "newer:start redelivered:drop"},
		{"queued ahead", nil, []Queued{job("older", "sup", "main", commit('1')), job("newer", "sup", "main", commit('2')),
			job("redelivered", "sup", "main", commit('1'))}, "older:drop newer:start redelivered:drop"},
		{"running", []running{{name: "older", job: spool.Job{Project: "sup", Ref: "refs/heads/main", Commit: commit('1')}}},
			[]Queued{job("newer", "sup", "main", commit('2')), job("redelivered", "sup", "main", commit('1'))}, "newer:start redelivered:drop"},
		{"interruptible, the newer one running", []running{{name: "newer", job: spool.Job{Project: "int", Ref: "refs/heads/main", Commit: commit('2')}}},
			[]Queued{func() Queued { q := job("redelivered", "int", "main", commit('1')); q.BuiltBy = "/w"; return q }()}, "redelivered:drop"},
	}
	for _, c := range cases {
		ds, _ := plan(c.queue, c.runs, 10, cfg, testPool(), time.Now())
		if got := summary(ds); got != c.want {
			t.Errorf("%s: plan = %s, want %s", c.what, got, c.want)
		}
	}
}
