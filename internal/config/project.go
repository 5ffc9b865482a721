package config

import (
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"

	"pipelined/internal/env"
	"pipelined/internal/workdir"
)

// Project is the typed configuration of one section (SPEC §4.2).
type Project struct {
	Name    string // the section name
	Line    int    // line of the section header
	Enabled bool

	Remote   string
	Watch    bool           // poll Remote; false when only webhooks or enqueue trigger builds
	Shallow  bool           // clone with --depth 1
	Branches *regexp.Regexp // anchored; nil builds no branch
	Tags     *regexp.Regexp // anchored; nil builds no tag
	// BuildExisting false: the first poll records the refs' commits instead of building them.
	BuildExisting bool

	EnvFile string    // read at build time; "" for none
	Env     []env.Var // inline variables

	Dockerfile     string // relative to the checkout, cleaned
	Pull           bool
	Cache          bool
	Build          bool
	Run            bool
	DockerInDocker bool
	ReadOnly       bool
	Tmpfs          int    // percent; 0 for no tmpfs
	Tag            string // $-template
	Label          string // $-template

	Rsync Rsync

	Timeout time.Duration // per command; 0 for none

	Engines string // names of the Docker engines its builds may use, "" for any; see EngineNames

	// The lifecycle of builds and jobs.
	Limit         Count // builds of this project at once; 0: only the daemon's --limit
	Serialize     bool  // one build of a ref at a time, in the order its jobs were queued
	Supersede     bool  // a newer queued commit of a branch drops the older queued jobs of that branch
	Interruptible bool  // … and cancels its running build
	KeepBuilds    Count // finished builds kept per ref, the newest; 0 keeps all
	KeepDays      Count // finished builds older than this many days are removed; 0 keeps all

	CommitURL string // $-template of a commit's link on the status pages; see CommitLink

	PrepareCallback []string // argument vector; nil for none
	SuccessCallback []string
	ErrorCallback   []string

	Forge Forge // where build statuses are reported; Forge.Kind "" for nowhere

	PullRequests       bool // build the forge's open pull (merge) requests
	PullRequestSecrets bool // … with the values of env and env_file

	// values holds the effective text of the keys whose text is not their default, for
	// Dump: a project that takes every key from [DEFAULT] or the defaults costs little.
	values []keyText
}

// keyText is the effective text of one key.
type keyText struct {
	key  string
	text string
}

// Count is a key's whole number of at least 1, or 0 when the key is empty: no limit.
type Count int

// maxCount bounds a Count: a million builds, days or slots is no limit in practice.
const maxCount = 1_000_000

// Rsync holds the rsync.* keys.
type Rsync struct {
	Destination string // $-template; "" disables the rsync step
	Delete      bool
	Checksum    bool
	Preserve    bool
	Include     string // --include-from file, absolute or relative to the checkout
}

// EngineNames lists the engines of the engines key; none means any engine.
func (p *Project) EngineNames() []string {
	return strings.FieldsFunc(p.Engines, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}

// validEngineName is engine.ValidName (which config cannot import: engine is a daemon's
// concern); a test keeps the two the same.
var validEngineName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// Value returns the effective text of a key, as Dump writes it.
func (p *Project) Value(key string) string {
	for _, v := range p.values {
		if v.key == key {
			return v.text
		}
	}
	if k, ok := lookupKey(key); ok {
		return k.Default
	}
	return ""
}

// setValue records the effective text of a key.
func (p *Project) setValue(key, text string) {
	for i, v := range p.values {
		if v.key == key {
			p.values[i].text = text
			return
		}
	}
	if k, ok := lookupKey(key); !ok || text != k.Default {
		p.values = append(p.values, keyText{key, text})
	}
}

// StatusPageName is the status page every work directory and project directory has: no
// project may be called that, as its directory would take the page's place.
const StatusPageName = "index.html"

// BadgesDirName is the work directory's tree of badges at readable URLs
// (badges/PROJECT/branch/NAME.svg): no project's directory.
const BadgesDirName = "badges"

// decodeProject turns a section into a Project, reporting every problem in line order.
// Values inherited from [DEFAULT] are decoded once for all sections (shared): 10,000
// projects with the same branches regex hold one compiled regex.
func decodeProject(sec *Section, p *problems, shared *decoded) *Project {
	proj := &Project{Name: sec.Name, Line: sec.Line}
	mine := &problems{file: p.file, base: p.base}
	if !workdir.ValidProjectName(sec.Name) {
		mine.errorf(sec.Line, sec.Name, "", "section name is not a usable project name: use letters, digits, '.', '_' and '-', starting with a letter or digit, at most 100 characters (it names a directory and a container)")
	} else if strings.EqualFold(sec.Name, StatusPageName) {
		mine.errorf(sec.Line, sec.Name, "", "%s is the work directory's status page, so it cannot be a project's directory: choose another project name", StatusPageName)
	} else if strings.EqualFold(sec.Name, BadgesDirName) {
		mine.errorf(sec.Line, sec.Name, "", "%s/ holds the badges of every project, so it cannot be a project's directory: choose another project name", BadgesDirName)
	}
	// A value that carries a secret is refused before anything else could quote it.
	refused, carries := checkSecrets(sec, func(key, msg string) {
		mine.errorf(sec.KeyLine(key), sec.Name, key, "%s%s", msg, sec.where(key))
	})
	for _, k := range Keys {
		text, set := sec.Values[k.Name]
		if !set {
			text = k.Default
		}
		value, problems := decode(k, text, proj, shared)
		if refused[k.Name] {
			problems = nil
		}
		for _, pr := range problems {
			report := mine.errorf
			if pr.warning {
				report = mine.warnf
			}
			report(sec.ValueLine(k.Name, pr.valueLine), sec.Name, k.Name, "%s%s", pr.msg, sec.where(k.Name))
		}
		proj.setValue(k.Name, value)
	}
	if proj.Remote == "" {
		mine.errorf(sec.Line, sec.Name, "remote", "no remote is set; add remote = URL of the git repository")
	}
	for _, v := range proj.Env {
		if env.IsRuntime(v.Name) {
			mine.warnf(sec.KeyLine("env"), sec.Name, "env", "%s is set by pipelined for every build; this value is ignored", v.Name)
		}
	}
	if proj.EnvFile != "" && !filepath.IsAbs(proj.EnvFile) {
		// Relative to the configuration file, as an operator keeping the two side by side
		// expects; the daemon's working directory means nothing under systemd.
		if abs, err := filepath.Abs(filepath.Join(p.base, proj.EnvFile)); err == nil {
			proj.EnvFile = abs
			proj.setValue("env_file", abs)
		}
	}
	checkForge(sec, proj, refused, mine)
	if proj.Run && !proj.Build {
		mine.errorf(sec.KeyLine("run"), sec.Name, "run", "run = True needs build = True: the container runs the image the build makes")
	}
	unquoteSecrets(sec, mine, refused, carries)
	sort.SliceStable(mine.errs, func(i, j int) bool { return mine.errs[i].Line < mine.errs[j].Line })
	p.errs = append(p.errs, mine.errs...)
	p.warnings = append(p.warnings, mine.warnings...)
	return proj
}
