package engine

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for spec, want := range map[string]Engine{
		"local=":                            {Name: "local", Slots: 1},
		"arm=ssh://build@arm64.lan":         {Name: "arm", Host: "ssh://build@arm64.lan", Slots: 1},
		"big=tcp://10.0.0.5:2376,slots=4":   {Name: "big", Host: "tcp://10.0.0.5:2376", Slots: 4},
		"b2=unix:///run/b2.sock,slots=1":    {Name: "b2", Host: "unix:///run/b2.sock", Slots: 1},
		"local=unix:///var/run/docker.sock": {Name: "local", Host: "unix:///var/run/docker.sock", Slots: 1},
	} {
		got, err := Parse(spec)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", spec, got, err, want)
		}
	}
	for _, bad := range []string{"noequals", "Arm=ssh://x", "-x=ssh://x", "a=not-a-host", "a=ssh://x,slots=0", "a=ssh://x,slots=two", "a=ssh://x,cpus=2", "=ssh://x", "a=ssh://x,slots=+3", "a=ssh://x,slots=2,slots=3"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted it", bad)
		}
	}
}

func TestEnvSetsDockerHost(t *testing.T) {
	env := []string{"PATH=/bin", "DOCKER_HOST=unix:///old.sock"}
	got := strings.Join(Engine{Name: "b", Host: "ssh://x"}.Env(env), " ")
	if got != "PATH=/bin DOCKER_HOST=ssh://x" {
		t.Errorf("Env = %s", got)
	}
	if got := (Engine{Name: "local"}).Env(env); len(got) != 2 || got[1] != "DOCKER_HOST=unix:///old.sock" {
		t.Errorf("the local engine without a host changed the environment: %v", got)
	}
}

func TestPoolPicksAnUpEngineWithAFreeSlot(t *testing.T) {
	now := time.Now()
	p := NewPool([]Engine{{Name: "a", Slots: 1}, {Name: "b", Slots: 2}}, now)
	if _, ok := p.Pick(nil); ok {
		t.Fatal("picked an engine that never answered")
	}
	p.SetUp("a", true, "", now)
	if e, ok := p.Pick(nil); ok {
		t.Fatalf("picked %s before every engine had answered once", e.Name)
	}
	if e, ok := p.Pick([]string{"a"}); !ok || e.Name != "a" {
		t.Fatalf("a build pinned to a waits for b, which it may not use: %v %v", e.Name, ok)
	}
	p.SetUp("b", true, "", now)
	if e, _ := p.Pick(nil); e.Name != "b" {
		t.Errorf("picked %s, want b (most free slots)", e.Name)
	}
	p.Take("b")
	if e, _ := p.Pick(nil); e.Name != "a" {
		t.Errorf("picked %s, want a (equal free slots: the first)", e.Name)
	}
	p.Take("a")
	p.Take("b")
	if e, ok := p.Pick(nil); ok {
		t.Errorf("picked %s with every slot taken", e.Name)
	}
	p.Release("a")
	if e, ok := p.Pick([]string{"b"}); ok {
		t.Errorf("picked %s for a project pinned to the full b", e.Name)
	}
	if e, _ := p.Pick([]string{"a", "b"}); e.Name != "a" {
		t.Errorf("picked %s, want a", e.Name)
	}
	if changed := p.SetUp("a", false, "no answer", now); !changed {
		t.Error("SetUp did not report the change")
	}
	if e, ok := p.Pick(nil); ok {
		t.Errorf("picked %s although a is down and b full", e.Name)
	}
	if !p.Known([]string{"x", "b"}) || p.Known([]string{"x"}) {
		t.Error("Known")
	}
}
