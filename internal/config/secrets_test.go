package config

import (
	"errors"
	"strings"
	"testing"
)

// The secret in every case below; no message may contain it.
const secret = "hunter2-s3cr3t"

// secretCases are configurations with a secret reaching an exposed key, each with the
// refusals expected.
var secretCases = []struct {
	name string
	src  string
	// one refusal per command-line key: key, its line, section, and the start of the message
	want []Error
}{
	{"env itself in label", "[web]\nremote = /r\nenv = TOKEN=" + secret + "\nlabel = x=%(env)s\n",
		[]Error{{Line: 4, Section: "web", Key: "label", Msg: "%(env)s puts the value of env variable TOKEN, a secret, into a command line; "}}},
	{"a helper in env and in tag", "[web]\nremote = /r\nenv = TOKEN=%(token)s\ntoken = " + secret + "\ntag = app:%(token)s\n",
		[]Error{{Line: 5, Section: "web", Key: "tag", Msg: "%(token)s puts the value of env variable TOKEN, a secret, into a command line; "}}},
	{"through another helper", "[web]\nremote = /r\nenv =\n  USER=ci\n  TOKEN=%(token)s\ntoken = " + secret + "\nauth = --token=%(token)s\nsuccess_callback = /bin/notify %(auth)s\n",
		[]Error{{Line: 8, Section: "web", Key: "success_callback", Msg: "%(auth)s (through %(token)s) puts the value of env variable TOKEN, a secret, into a command line; "}}},
	{"through a helper that env uses too", "[web]\nremote = /r\nwrapped = <%(token)s>\nenv = TOKEN=%(wrapped)s\ntoken = " + secret + "\nrsync.destination = host:/srv/%(wrapped)s\n",
		[]Error{{Line: 6, Section: "web", Key: "rsync.destination", Msg: "%(wrapped)s puts the value of env variable TOKEN, a secret, into a command line; "}}},
	{"everything in [DEFAULT]", "[DEFAULT]\ntoken = " + secret + "\nenv = TOKEN=%(token)s\nlabel = t=%(token)s\n[web]\nremote = /r\n[api]\nremote = /r\n",
		[]Error{
			{Line: 4, Section: "web", Key: "label", Msg: "%(token)s puts the value of env variable TOKEN, a secret, into a command line; "},
			{Line: 4, Section: "api", Key: "label", Msg: "%(token)s puts the value of env variable TOKEN, a secret, into a command line; "},
		}},
	{"env refers to a command-line key by a secret variable", "[web]\nremote = /r\nenv = API_TOKEN=%(tag)s\ntag = " + secret + "\n",
		[]Error{{Line: 4, Section: "web", Key: "tag", Msg: "env refers to %(tag)s, so this value is also the value of env variable API_TOKEN, a secret, and a secret must not reach a command line; "}}},
	{"a plain helper filling a secret variable", "[web]\nremote = /r\nenv = %(all)s\nall = A=1\n  DB_PASSWORD=" + secret + "\nerror_callback = /bin/x %(all)s\n",
		[]Error{{Line: 6, Section: "web", Key: "error_callback", Msg: "%(all)s puts the values of env variables A and DB_PASSWORD, secrets, into a command line; "}}},
	{"the remote, env_file and engines", "[web]\nremote = https://h/r.git?x=%(token)s\nenv = TOKEN=%(token)s\ntoken = " + secret + "\nenv_file = /tmp/%(token)s\nengines = %(token)s\n",
		[]Error{
			{Line: 2, Section: "web", Key: "remote", Msg: "%(token)s puts the value of env variable TOKEN, a secret, into a command line; "},
			{Line: 5, Section: "web", Key: "env_file", Msg: "%(token)s puts the value of env variable TOKEN, a secret, into a command line; "},
			{Line: 6, Section: "web", Key: "engines", Msg: "%(token)s puts the value of env variable TOKEN, a secret, into an error message; "},
		}},
	{"what goes to the forge", "[web]\nremote = https://h/o/r.git\nenv = TOKEN=%(token)s\ntoken = " + secret + "\nforge = gitea\nforge.token_env = GITEA_TOKEN\nforge.target_url = https://ci/%(token)s\n",
		[]Error{{Line: 7, Section: "web", Key: "forge.target_url", Msg: "%(token)s puts the value of env variable TOKEN, a secret, into what is sent to the forge"}}},
	{"every command-line key", "[web]\nremote = /r\nenv = T=%(api_token)s\napi_token = " + secret + "\ntag = %(api_token)s\nlabel = %(api_token)s\nrsync.destination = %(api_token)s\nrsync.include = %(api_token)s\ndockerfile = %(api_token)s\nprepare_callback = /bin/x %(api_token)s\nsuccess_callback = /bin/x %(api_token)s\nerror_callback = /bin/x %(api_token)s\n",
		[]Error{
			{Line: 5, Section: "web", Key: "tag"}, {Line: 6, Section: "web", Key: "label"},
			{Line: 7, Section: "web", Key: "rsync.destination"}, {Line: 8, Section: "web", Key: "rsync.include"},
			{Line: 9, Section: "web", Key: "dockerfile"}, {Line: 10, Section: "web", Key: "prepare_callback"},
			{Line: 11, Section: "web", Key: "success_callback"}, {Line: 12, Section: "web", Key: "error_callback"},
		}},
}

func TestSecretsThroughInterpolationAreRefused(t *testing.T) {
	for _, tc := range secretCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(tc.src)
			problems := Problems(err)
			if len(problems) != len(tc.want) {
				t.Fatalf("want %d refusals, got %v", len(tc.want), err)
			}
			for i, want := range tc.want {
				var got *Error
				if !errors.As(problems[i], &got) {
					t.Fatalf("%v is a %T, want *config.Error", problems[i], problems[i])
				}
				if got.File != "c.ini" || got.Line != want.Line || got.Section != want.Section || got.Key != want.Key || !strings.HasPrefix(got.Msg, want.Msg) {
					t.Errorf("got %#v,\nwant %#v", got, want)
				}
				if !strings.Contains(got.Msg, "read the variable there") {
					t.Errorf("%q does not say what to do instead", got.Msg)
				}
				if inherited := strings.HasPrefix(tc.src, "[DEFAULT]"); inherited != strings.HasSuffix(got.Msg, " (inherited from [DEFAULT])") {
					t.Errorf("%q: want (inherited from [DEFAULT]) at the end exactly when the key is in [DEFAULT]", got.Msg)
				}
				if strings.Contains(got.Error(), secret) {
					t.Errorf("%q shows the secret", got.Error())
				}
			}
		})
	}
}

func TestConfigurationsWithoutSecretsInCommandLinesLoad(t *testing.T) {
	for name, src := range map[string]string{
		"a helper used by tag only":              "[web]\nremote = /r\nversion = 1.2\ntag = app:%(version)s\nenv = TOKEN=" + secret + "\n",
		"env without references":                 "[web]\nremote = /r\nenv =\n  TOKEN=" + secret + "\n  RATIO=50%%\nlabel = ratio=50%%\n",
		"a helper used by env only":              "[web]\nremote = /r\ntoken = " + secret + "\nenv = TOKEN=%(token)s\ntag = app\n",
		"an empty helper in env and tag":         "[web]\nremote = /r\nsuffix =\nenv = TOKEN=" + secret + "%(suffix)s\ntag = app%(suffix)s\n",
		"no env, a command line with references": "[DEFAULT]\nhost = example.org\n[web]\nremote = /r\nsuccess_callback = /bin/notify %(host)s\n",
		// The case of the issue: a shared path is no secret, and configparser users write it.
		"a path shared by env and a callback": "[DEFAULT]\nroot = /srv/ci\nenv = OUT=%(root)s/out\nsuccess_callback = %(root)s/cb.sh\n[web]\nremote = /r\n",
		"a helper shared by env and tag":      "[web]\nremote = /r\nenv = IMAGE=%(name)s\nname = app\ntag = %(name)s:1\n",
		"env refers to the tag":               "[web]\nremote = /r\nenv = IMAGE=%(tag)s\ntag = app:1\n",
	} {
		if _, err := parse(src); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestAnInvalidValueCarryingASecretIsNotQuoted: a key that reaches no command line but is
// checked (a boolean, a number, the forge) quotes a wrong value in its message; when the
// value carries a secret, the message says so instead of showing it (SPEC §9: messages
// never print a value they refuse). forge.token_file and forge.token_env name a file or a
// variable in the daemon's log lines, so a secret in them is refused as in env_file.
func TestAnInvalidValueCarryingASecretIsNotQuoted(t *testing.T) {
	head := "[web]\nremote = https://h/o/r.git\nenv = TOKEN=%(token)s\ntoken = " + secret + "\n"
	for _, key := range []string{"shallow", "timeout", "watch", "keep_builds", "supersede", "forge", "branches"} {
		src := head + key + " = %(token)s(\n"
		_, err := parse(src)
		if err == nil || len(Problems(err)) == 0 {
			t.Errorf("%s: loaded", key)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the message shows the secret: %v", key, err)
		}
		if !strings.Contains(err.Error(), "%(token)s") {
			t.Errorf("%s: the message does not name the reference: %v", key, err)
		}
	}
	for _, key := range []string{"forge.token_file", "forge.token_env"} {
		_, err := parse(head + "forge = gitea\n" + key + " = %(token)s\n")
		if err == nil || !strings.Contains(err.Error(), key+": %(token)s puts") || strings.Contains(err.Error(), secret) {
			t.Errorf("%s: %v", key, err)
		}
	}
	// Without a secret, the value is quoted as before.
	if _, err := parse("[web]\nremote = /r\nenv = OUT=%(root)s\nroot = maybe\nshallow = %(root)s\n"); err == nil || !strings.Contains(err.Error(), `"maybe" is not a boolean`) {
		t.Errorf("a plain shared value: %v", err)
	}
}
