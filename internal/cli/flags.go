package cli

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The flag types below exist so that --help shows "--limit NUM" and "--config CONFIG.INI",
// the metavariables of the original usage line (SPEC §3), instead of pflag's type names.

type namedString struct {
	p    *string
	name string
}

// Named returns a flag value for a string flag shown as "--flag NAME" in help.
func Named(p *string, name string) *namedString { return &namedString{p, name} }

func (v *namedString) String() string     { return *v.p }
func (v *namedString) Set(s string) error { *v.p = s; return nil }
func (v *namedString) Type() string       { return v.name }

type namedInt struct {
	p        *int
	name     string
	min, max int
}

// NamedInt returns a flag value for an integer flag of at least min, shown as
// "--flag NAME" in help.
func NamedInt(p *int, name string, min int) *namedInt { return &namedInt{p, name, min, math.MaxInt} }

// MaxSeconds bounds a flag of seconds: about 68 years, far from the 292 years past which
// time.Duration(n) * time.Second wraps round to a negative or a tiny duration, so that
// sums made of it (the watcher's interval plus a minute, say) do not wrap either.
const MaxSeconds = math.MaxInt32

// Seconds returns a flag value for a number of seconds from min to MaxSeconds, shown as
// "--flag SECONDS" in help.
func Seconds(p *int, min int) *namedInt { return &namedInt{p, "SECONDS", min, MaxSeconds} }

func (v *namedInt) String() string { return strconv.Itoa(*v.p) }
func (v *namedInt) Type() string   { return v.name }
func (v *namedInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	if n < v.min {
		return fmt.Errorf("%d is less than %d", n, v.min)
	}
	if n > v.max {
		return fmt.Errorf("%d is more than %d", n, v.max)
	}
	*v.p = n
	return nil
}

type namedList struct {
	p    *[]string
	name string
}

// NamedList returns a flag value for a repeatable flag, each use adding one value, shown
// as "--flag NAME" in help.
func NamedList(p *[]string, name string) *namedList { return &namedList{p, name} }

func (v *namedList) String() string     { return strings.Join(*v.p, " ") }
func (v *namedList) Type() string       { return v.name }
func (v *namedList) Set(s string) error { *v.p = append(*v.p, s); return nil }

type grace struct{ p *time.Duration }

// MaxGrace bounds a grace period (MaxSeconds): the sums made of it (the daemon's exit
// deadline, a build's kill time, a clean-up's bound) must not wrap round to a negative
// duration, which would end them at once.
const MaxGrace = time.Duration(MaxSeconds) * time.Second

// Grace returns a flag value for a duration from 0 to MaxGrace, shown as "--flag
// duration" in help like any duration; *p is its default.
func Grace(p *time.Duration) *grace { return &grace{p} }

func (v *grace) String() string { return v.p.String() }
func (v *grace) Type() string   { return "duration" }
func (v *grace) Set(s string) error {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return err
	case d > MaxGrace:
		return fmt.Errorf("%s is more than %s", s, MaxGrace)
	}
	*v.p = d
	return nil
}
