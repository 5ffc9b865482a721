package shellwords

import (
	"reflect"
	"testing"
)

func TestSplit(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  bool
	}{
		{"/usr/bin/env", []string{"/usr/bin/env"}, false},
		{"  a  b\tc\nd ", []string{"a", "b", "c", "d"}, false},
		{`a 'b c' "d e"`, []string{"a", "b c", "d e"}, false},
		{`'$HOME' "\$x \"q\" \\ \n"`, []string{"$HOME", `$x "q" \ \n`}, false},
		{`a\ b c\'d`, []string{"a b", "c'd"}, false},
		{`x''y ""`, []string{"xy", ""}, false},
		{`'open`, nil, true},
		{`"open`, nil, true},
	}
	for _, tc := range cases {
		got, err := Split(tc.in)
		if (err != nil) != tc.err || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Split(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestQuoteRoundTrips(t *testing.T) {
	words := []string{"plain", "with space", "it's", "$(id)", "", "a\"b", "--flag=x", "ü"}
	got, err := Split(Join(words))
	if err != nil || !reflect.DeepEqual(got, words) {
		t.Errorf("Split(Join(%q)) = %q, %v", words, got, err)
	}
}
