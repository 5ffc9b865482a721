package config

import (
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"pipelined/internal/env"
)

// The forges pipelined reports build statuses to (forge = …). Forgejo is a Gitea.
const (
	ForgeGitHub = "github"
	ForgeGitea  = "gitea"
	ForgeGitLab = "gitlab"
)

// GitHubAPI is forge.url's default for github.
const GitHubAPI = "https://api.github.com"

// ReportVariables are the variables forge.context and forge.target_url may use: what every
// report of a build knows, whoever writes it (pipeline-build, or the daemon when it retries
// a build or sets its job aside). A variable that does not apply (BUILD_TAG of a branch) is
// empty. env and env_file values are not among them: the forge shows these texts to its users.
var ReportVariables = []string{env.BuildProject, env.BuildRef, env.BuildRefName, env.BuildBranch, env.BuildTag,
	env.BuildPullRequest, env.BuildCommit, env.BuildShortCommit}

// Forge is the forge.* keys of a project: where its build statuses go (SPEC §4.2).
type Forge struct {
	Kind string // ForgeGitHub, ForgeGitea or ForgeGitLab; "" reports nothing
	// URL is the API base for github, the forge's own address for gitea and gitlab (their
	// API is below /api/v1 and /api/v4); no trailing slash.
	URL  string
	Repo string // owner/name; for GitLab the project's path or numeric id
	// TokenFile is read at each use; a relative path is taken in $CREDENTIALS_DIRECTORY when
	// that is set (systemd's LoadCredential=), else in BaseDir. "" when TokenEnv is used.
	TokenFile string
	TokenEnv  string // a variable of the daemon's own environment; never passed to a build
	BaseDir   string // the configuration file's directory
	Context   string // $-template over ReportVariables; the status's name on the forge
	TargetURL string // $-template over ReportVariables; "" for no link
}

var (
	repoPart     = regexp.MustCompile(`^[A-Za-z0-9_.][A-Za-z0-9_.-]*$`)
	gitlabNumber = regexp.MustCompile(`^[1-9][0-9]*$`)
)

// checkForge validates the forge keys together and fills in forge.url and forge.repo from
// the remote when they are not set.
func checkForge(sec *Section, proj *Project, refused map[string]bool, mine *problems) {
	f := &proj.Forge
	errorf := func(key, format string, args ...any) {
		mine.errorf(sec.KeyLine(key), sec.Name, key, format+sec.where(key), args...)
	}
	if _, ok := sec.Values["forge.token"]; ok {
		errorf("forge.token", "a token is never written into the configuration file (every user who can read it, and --dump-config, would see it): put it in a file named by forge.token_file, or in the daemon's environment named by forge.token_env")
	}
	if f.Kind == "" {
		if proj.PullRequests {
			errorf("pull_requests", "pull_requests = True needs forge: the open requests are asked of the forge's API")
		}
		return
	}
	if !slices.Contains([]string{ForgeGitHub, ForgeGitea, ForgeGitLab}, f.Kind) {
		if strings.ContainsAny(f.Kind, "/:") || referenced(sec, "forge") {
			// A helper key of a file written before forge was a key (%(forge)s/app.git): the
			// file means what it meant then, and nothing is reported.
			mine.warnf(sec.KeyLine("forge"), sec.Name, "forge", "is a key of pipelined now (github, gitea or gitlab), but this value is a helper's (an address, or used by %%(forge)s): nothing is reported; rename the helper key%s", sec.where("forge"))
			f.Kind = ""
			return
		}
		errorf("forge", "%q is not a forge pipelined reports to: use github, gitea (also for Forgejo) or gitlab", f.Kind)
		return
	}
	f.BaseDir = mine.base // the operator's file's directory, also when a snapshot of it is read
	if abs, err := filepath.Abs(f.BaseDir); err == nil {
		f.BaseDir = abs
	}
	if !refused["forge.url"] && !refused["remote"] {
		checkForgeURL(sec, proj, errorf)
	}
	if !refused["forge.repo"] && !refused["remote"] {
		checkForgeRepo(sec, proj, errorf)
	}
	checkToken(f, errorf)
	for _, key := range []string{"forge.context", "forge.target_url"} {
		if !refused[key] {
			checkReportTemplate(key, proj.Value(key), errorf)
		}
	}
	if f.Context == "" {
		errorf("forge.context", "is empty: the forge tells statuses apart by it; leave the key out for pipelined/${BUILD_PROJECT}")
	}
	if proj.PullRequestSecrets && !proj.PullRequests {
		mine.warnf(sec.KeyLine("pull_requests.secrets"), sec.Name, "pull_requests.secrets", "has no effect while pull_requests is False")
	}
}

// referenced reports whether a value of the section refers to key with %(key)s.
func referenced(sec *Section, key string) bool {
	for _, k := range sec.Keys {
		if t := sec.template(k); t != nil && slices.Contains(t.refs, key) {
			return true
		}
	}
	return false
}

// checkForgeURL validates forge.url, or takes it from the remote.
func checkForgeURL(sec *Section, proj *Project, errorf func(key, format string, args ...any)) {
	f := &proj.Forge
	if f.URL == "" {
		switch u := httpRemote(proj.Remote); {
		case f.Kind == ForgeGitHub:
			f.URL = GitHubAPI
		case u != nil:
			f.URL = u.Scheme + "://" + u.Host
		default:
			errorf("forge", "forge.url is needed: the remote is not an http(s) URL, so the address of the %s server cannot be taken from it", f.Kind)
			return
		}
		proj.setValue("forge.url", f.URL)
		return
	}
	u, err := url.Parse(f.URL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errorf("forge.url", "is not an http(s) URL such as https://gitea.example.org")
		return
	case u.User != nil:
		errorf("forge.url", "has credentials in it; remove them: the token comes from forge.token_file or forge.token_env")
		return
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		errorf("forge.url", "has a query or fragment; give the address only")
		return
	}
	f.URL = strings.TrimRight(f.URL, "/")
	proj.setValue("forge.url", f.URL)
}

// checkForgeRepo validates forge.repo, or takes it from the remote's path.
func checkForgeRepo(sec *Section, proj *Project, errorf func(key, format string, args ...any)) {
	f := &proj.Forge
	if f.Repo == "" {
		f.Repo = repoFromRemote(proj.Remote, f.URL)
		if f.Repo == "" {
			errorf("forge", "forge.repo is needed: the remote has no path of the form owner/name to take it from")
			return
		}
		proj.setValue("forge.repo", f.Repo)
	}
	parts := strings.Split(f.Repo, "/")
	ok := len(parts) == 2
	if f.Kind == ForgeGitLab {
		ok = len(parts) >= 2 || gitlabNumber.MatchString(f.Repo)
	}
	for _, p := range parts {
		ok = ok && (repoPart.MatchString(p) || gitlabNumber.MatchString(f.Repo))
	}
	if !ok {
		want := "owner/name"
		if f.Kind == ForgeGitLab {
			want = "the project's path (group/project, group/subgroup/project) or its numeric id"
		}
		errorf("forge.repo", "%q is not a repository of %s: write %s", f.Repo, f.Kind, want)
	}
}

// checkToken makes sure the token comes from exactly one place, and never from the INI.
func checkToken(f *Forge, errorf func(key, format string, args ...any)) {
	switch {
	case f.TokenFile == "" && f.TokenEnv == "":
		errorf("forge", "needs a token: set forge.token_file = PATH (a file holding it, e.g. a systemd credential) or forge.token_env = NAME (a variable of the daemon's environment)")
	case f.TokenFile != "" && f.TokenEnv != "":
		errorf("forge.token_env", "and forge.token_file are both set; keep one")
	case f.TokenEnv != "" && (!env.ValidName(f.TokenEnv) || env.IsRuntime(f.TokenEnv)):
		errorf("forge.token_env", "is not the name of a variable of the daemon's environment (letters, digits and _, not a BUILD_ name)")
	}
}

// checkReportTemplate checks forge.context or forge.target_url: a $-template over
// ReportVariables alone.
func checkReportTemplate(key, tmpl string, errorf func(key, format string, args ...any)) {
	_, err := env.Expand(tmpl, func(name string) (string, bool) { return "", slices.Contains(ReportVariables, name) })
	if err != nil {
		errorf(key, "%v; it may use %s (what every status report of a build knows)", err, strings.Join(ReportVariables, ", "))
		return
	}
	// The forge links to it: GitHub and GitLab refuse a status with another kind of link,
	// and every status would be set aside.
	if lower := strings.ToLower(tmpl); key == "forge.target_url" && tmpl != "" && !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		errorf(key, "must start with http:// or https://: the forge shows it as the status's link")
	}
}

// httpRemote returns the remote as a URL when it is an http(s) URL, else nil.
func httpRemote(remote string) *url.URL {
	u, err := url.Parse(remote)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil
	}
	return u
}

// repoFromRemote takes owner/name from the remote's path: the path of a URL (less the path
// of forgeURL when the forge lives below one) or of an scp-like address, without ".git".
func repoFromRemote(remote, forgeURL string) string {
	var p string
	if u, err := url.Parse(remote); err == nil && u.Scheme != "" && u.Host != "" {
		p = u.Path
		if base, err := url.Parse(forgeURL); err == nil && base.Path != "" && base.Host == u.Host {
			p = strings.TrimPrefix(p, strings.TrimRight(base.Path, "/"))
		}
	} else if host, rest, ok := strings.Cut(remote, ":"); ok && !strings.Contains(host, "/") && host != "" {
		p = rest // user@host:owner/name.git
	}
	p = strings.TrimSuffix(strings.Trim(p, "/"), ".git")
	if strings.Count(p, "/") < 1 {
		return ""
	}
	return p
}
