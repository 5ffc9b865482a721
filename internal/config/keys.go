package config

import (
	"regexp"
	"time"
	"unicode/utf8"

	"pipelined/internal/env"
)

// Key describes one configuration key of SPEC §4.2. The table below is the only list of
// keys: decoding, validation, unknown-key warnings, Dump and the configuration reference
// (docs/configuration.md, pipelined.ini(5)) all read it.
type Key struct {
	Name    string // lower-case key as written in the file
	Default string // the value assumed when the key is absent, as INI text; "" means none
	Doc     string // one sentence for the reference
	field   func(*Project) any
}

// Kind names the type of the key's value for the reference: boolean, integer, seconds,
// regex, NAME=value lines, command or text.
func (k Key) Kind() string {
	switch k.field(&Project{}).(type) {
	case *bool:
		return "boolean"
	case *int:
		return "integer"
	case *Count:
		return "count"
	case *time.Duration:
		return "seconds"
	case **regexp.Regexp:
		return "regex"
	case *[]env.Var:
		return "NAME=value lines"
	case *[]string:
		return "command"
	default:
		return "text"
	}
}

// Keys is the table of every configuration key, in the order of the reference and of Dump.
var Keys = []Key{
	{"enabled", "True", "Build this project; False ignores the whole section.", func(p *Project) any { return &p.Enabled }},
	{"remote", "", "Git remote to watch and clone: any URL or scp-like path git accepts. Required.", func(p *Project) any { return &p.Remote }},
	{"watch", "True", "Poll the remote with `git ls-remote` every --interval; False for projects that only webhooks or `pipelined enqueue` trigger (an extension of this tool).", func(p *Project) any { return &p.Watch }},
	{"shallow", "True", "Shallow clone (`--depth 1`) instead of a full one.", func(p *Project) any { return &p.Shallow }},
	{"branches", "", "Regex (Go RE2) that must match the whole name below refs/heads/ for a branch to be built; empty builds no branch.", func(p *Project) any { return &p.Branches }},
	{"tags", "", "Regex that must match the whole name below refs/tags/ for a tag to be built; empty builds no tag.", func(p *Project) any { return &p.Tags }},
	{"build_existing", "True", "False: the first poll of the project records the commits its matching refs have then without building them (PROJECT/REF/SHORT.recorded); later commits, and refs created later, are built as usual.", func(p *Project) any { return &p.BuildExisting }},
	{"env_file", "", "File of NAME=value lines (blank lines and # comments ignored), read when a build starts; a relative path is relative to the configuration file.", func(p *Project) any { return &p.EnvFile }},
	{"env", "", "Inline NAME=value lines, one per continuation line; they override env_file.", func(p *Project) any { return &p.Env }},
	{"dockerfile", "Dockerfile", "Dockerfile path relative to the checkout; it must stay inside it.", func(p *Project) any { return &p.Dockerfile }},
	{"pull", "True", "Pass --pull to docker build (always try to pull a newer base image).", func(p *Project) any { return &p.Pull }},
	{"cache", "True", "Use docker's build cache; False adds --no-cache.", func(p *Project) any { return &p.Cache }},
	{"build", "False", "Build an image from the Dockerfile; False disables docker altogether.", func(p *Project) any { return &p.Build }},
	{"run", "False", "Run the built image as a container, with the checkout at /build and the artifacts at /drop (needs build=True).", func(p *Project) any { return &p.Run }},
	{"docker_in_docker", "False", "Mount /var/run/docker.sock into the container. As dangerous as giving the project root.", func(p *Project) any { return &p.DockerInDocker }},
	{"read_only", "True", "Run the container with a read-only root filesystem.", func(p *Project) any { return &p.ReadOnly }},
	{"tmpfs", "50", "Size of a writable /tmp in the container, in percent of memory; 0 for none.", func(p *Project) any { return &p.Tmpfs }},
	{"tag", "", "Image tag (docker build --tag), $-interpolated over the build environment, e.g. ${BUILD_PROJECT}:${BUILD_SHORT_COMMIT}. Not a regex: the git tags to build are `tags`.", func(p *Project) any { return &p.Tag }},
	{"label", "", "Label (KEY=value) for the image and the container, $-interpolated.", func(p *Project) any { return &p.Label }},
	{"rsync.destination", "", "Local directory or remote rsync destination to mirror the artifacts (after a run) or the checkout to; $-interpolated. Empty: no rsync step.", func(p *Project) any { return &p.Rsync.Destination }},
	{"rsync.delete", "False", "Delete files at the destination that the source does not have (--delete-after --delete-excluded).", func(p *Project) any { return &p.Rsync.Delete }},
	{"rsync.checksum", "False", "Compare files by checksum rather than size and time (--checksum).", func(p *Project) any { return &p.Rsync.Checksum }},
	{"rsync.preserve", "False", "Preserve owner, group, permissions and times (--owner --group --perms --times); usually needs root.", func(p *Project) any { return &p.Rsync.Preserve }},
	{"rsync.include", "", "--include-from file, absolute or relative to the checkout.", func(p *Project) any { return &p.Rsync.Include }},
	{"timeout", "", "Seconds each single git, docker, rsync or callback command may run; empty for no limit.", func(p *Project) any { return &p.Timeout }},
	{"engines", "", "Names of the Docker engines (pipelined --engine NAME=…) this project's builds may run on, separated by spaces or commas; empty: any. Only for projects with build = True.", func(p *Project) any { return &p.Engines }},
	{"limit", "", "How many builds of this project may run at once; empty for no limit but the daemon's --limit. A project at its limit does not hold up the jobs of other projects.", func(p *Project) any { return &p.Limit }},
	{"serialize", "True", "One build of a ref at a time: a newer commit of the ref waits for the running build (with supersede, only the newest queued one waits; with interruptible, the running one is canceled), so the last deploy of a ref is always its newest commit built. False lets builds of one ref run side by side.", func(p *Project) any { return &p.Serialize }},
	{"supersede", "True", "When a newer commit of a branch is queued, drop the older queued jobs of that branch (logged as \"superseded by SHORT\"); tags are never superseded.", func(p *Project) any { return &p.Supersede }},
	{"interruptible", "False", "With supersede, also cancel a running build of the branch when a newer commit of it is queued (BUILD_STATUS=canceled, reason \"superseded by SHORT\").", func(p *Project) any { return &p.Interruptible }},
	{"keep_builds", "", "Keep only the newest N finished builds of each ref (their directories and the images they built); empty keeps all. The newest build of a ref and its newest successful build are always kept.", func(p *Project) any { return &p.KeepBuilds }},
	{"keep_days", "", "Remove finished builds older than D days, with the same exceptions as keep_builds; empty keeps all.", func(p *Project) any { return &p.KeepDays }},
	{"commit_url", "", "Link of a build's commit on the status pages, $-interpolated when the build starts over BUILD_PROJECT, BUILD_REF, BUILD_REF_NAME, BUILD_COMMIT and BUILD_SHORT_COMMIT only (each URL-escaped); it must start with http:// or https://. Empty: the commit's page on the forge of `forge`, when its web address is known. For example: `https://git.example.com/app/commit/${BUILD_COMMIT}`", func(p *Project) any { return &p.CommitURL }},
	{"prepare_callback", "", "Command run in the checkout after it is made and before the docker build.", func(p *Project) any { return &p.PrepareCallback }},
	{"success_callback", "", "Command run at the end of a build whose steps all succeeded.", func(p *Project) any { return &p.SuccessCallback }},
	{"error_callback", "", "Command run when a build fails or is canceled, with BUILD_STATUS and BUILD_STEP set. To mail or post to a chat without code: PREFIX/share/pipelined/notify/mail ADDRESS… or …/notify/chat (docs/notifications.md).", func(p *Project) any { return &p.ErrorCallback }},
	{"forge", "", "Report each build's status to this forge: github, gitea (also for Forgejo) or gitlab; empty reports nothing. See docs/forge.md.", func(p *Project) any { return &p.Forge.Kind }},
	{"forge.url", "", "The forge's address: for github the API base (default https://api.github.com; GitHub Enterprise: https://HOST/api/v3), for gitea and gitlab the server's address below which /api/v1 or /api/v4 is (default: the scheme and host of an http(s) remote).", func(p *Project) any { return &p.Forge.URL }},
	{"forge.repo", "", "The repository on the forge, owner/name; for gitlab the project's path or numeric id. Default: the remote's path without .git.", func(p *Project) any { return &p.Forge.Repo }},
	{"forge.token_file", "", "File holding the forge's access token, read at each use; a relative path is taken in $CREDENTIALS_DIRECTORY when set (systemd LoadCredential=), else next to the configuration file. Never write the token itself into the configuration.", func(p *Project) any { return &p.Forge.TokenFile }},
	{"forge.token_env", "", "Name of a variable of the daemon's own environment that holds the forge's access token (instead of forge.token_file); it is removed from every build's environment.", func(p *Project) any { return &p.Forge.TokenEnv }},
	{"forge.context", "pipelined/${BUILD_PROJECT}", "The status's name on the forge (GitHub and Gitea: context, GitLab: name); $-interpolated over BUILD_PROJECT, BUILD_REF, BUILD_REF_NAME, BUILD_BRANCH, BUILD_TAG, BUILD_PULL_REQUEST, BUILD_COMMIT and BUILD_SHORT_COMMIT.", func(p *Project) any { return &p.Forge.Context }},
	{"forge.target_url", "", "Link (http:// or https://) shown with the status, e.g. the build's page as a web server publishes the work directory; $-interpolated like forge.context. Empty: no link.", func(p *Project) any { return &p.Forge.TargetURL }},
	{"pull_requests", "False", "Also build the forge's open pull requests (gitlab: merge requests), once per head commit, with BUILD_PULL_REQUEST set and the status on the head commit. Needs forge.", func(p *Project) any { return &p.PullRequests }},
	{"pull_requests.secrets", "False", "Give pull request builds the values of env and env_file. A request may come from anyone's fork and runs its own code: leave False unless every request is trusted.", func(p *Project) any { return &p.PullRequestSecrets }},
}

// lookupKey returns the table entry for name.
func lookupKey(name string) (Key, bool) {
	for _, k := range Keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// suggest returns the known key closest to an unknown one, if it is close enough to be a
// typo ("bulid", "branch", "rsync_delete"), or "". Short names get less leeway, so that a
// helper such as "url" is not taken for "pull".
func suggest(name string) string {
	best, bestDist := "", 2
	if len(name) > 4 {
		bestDist = 3
	}
	n := utf8.RuneCountInString(name)
	for _, k := range Keys {
		// The distance is at least the difference in length (key names are ASCII): most keys
		// need no comparison, which matters when a file has thousands of helper keys.
		if diff := n - len(k.Name); diff >= bestDist || -diff >= bestDist {
			continue
		}
		if d := editDistance(name, k.Name); d < bestDist {
			best, bestDist = k.Name, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions, deletions,
// substitutions and transpositions of neighbours each cost one. It keeps three rows of the
// table, on the stack for names as short as keys are: it runs for every unknown key, and a
// file may have thousands of helper keys.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	w := len(rb) + 1
	var buf [3 * 32]int
	rows := buf[:]
	if 3*w > len(buf) {
		rows = make([]int, 3*w)
	}
	before, prev, cur := rows[:w], rows[w:2*w], rows[2*w:3*w] // rows i-2, i-1 and i
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] || (ra[i-1] == '_' && rb[j-1] == '.') || (ra[i-1] == '.' && rb[j-1] == '_') {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], before[j-2]+1)
			}
		}
		before, prev, cur = prev, cur, before
	}
	return prev[len(rb)]
}
