package config

import (
	"errors"
	"strings"
	"testing"
)

// The secret in every case below; no message may contain it.
const secret = "hunter2-s3cr3t"

func TestSecretsThroughInterpolationAreRefused(t *testing.T) {
	cases := []struct {
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
		{"env refers to the command-line key", "[web]\nremote = /r\nenv = IMAGE=%(tag)s\ntag = " + secret + "\n",
			[]Error{{Line: 4, Section: "web", Key: "tag", Msg: "env refers to %(tag)s, so this value is also the value of env variable IMAGE, a secret, and a secret must not be on a command line; "}}},
		{"several variables", "[web]\nremote = /r\nenv = %(all)s\nall = A=" + secret + "\n  B=2\n  C=3\n  D=4\n  E=5\nerror_callback = /bin/x %(all)s\n",
			[]Error{{Line: 9, Section: "web", Key: "error_callback", Msg: "%(all)s puts the values of env variables A, B, C and 2 more, secrets, into a command line; "}}},
		{"a helper in a line that holds no variable", "[web]\nremote = /r\nenv = #%(t)s\n  A=1\nt = " + secret + "\ntag = %(t)s\n",
			[]Error{{Line: 6, Section: "web", Key: "tag", Msg: "%(t)s puts a part of env's value, a secret, into a command line; "}}},
		{"every command-line key", "[web]\nremote = /r\nenv = T=%(t)s\nt = " + secret + "\ntag = %(t)s\nlabel = %(t)s\nrsync.destination = %(t)s\nrsync.include = %(t)s\ndockerfile = %(t)s\nprepare_callback = /bin/x %(t)s\nsuccess_callback = /bin/x %(t)s\nerror_callback = /bin/x %(t)s\n",
			[]Error{
				{Line: 5, Section: "web", Key: "tag"}, {Line: 6, Section: "web", Key: "label"},
				{Line: 7, Section: "web", Key: "rsync.destination"}, {Line: 8, Section: "web", Key: "rsync.include"},
				{Line: 9, Section: "web", Key: "dockerfile"}, {Line: 10, Section: "web", Key: "prepare_callback"},
				{Line: 11, Section: "web", Key: "success_callback"}, {Line: 12, Section: "web", Key: "error_callback"},
			}},
	}
	for _, tc := range cases {
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
	} {
		if _, err := parse(src); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
