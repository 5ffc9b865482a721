package smarthttp

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"pipelined/internal/git"
)

// pkts frames each line as a pkt-line; "0000", "0001" and "0002" pass as they are.
func pkts(lines ...string) string {
	var b []byte
	for _, l := range lines {
		switch l {
		case "0000", "0001", "0002":
			b = append(b, l...)
		default:
			b = appendPkt(b, l)
		}
	}
	return string(b)
}

const (
	id1 = "1111111111111111111111111111111111111111"
	id2 = "2222222222222222222222222222222222222222"
	idU = "ABCDEF0123456789ABCDEF0123456789ABCDEF01"
)

func TestPktReader(t *testing.T) {
	cases := []struct {
		name, in string
		kinds    []pktKind
		payloads []string
		err      string // "" for io.EOF after the packets
	}{
		{"data chomps one newline", pkts("a\n", "b\n\n", "c"), []pktKind{pktData, pktData, pktData}, []string{"a", "b\n", "c"}, ""},
		{"special packets", "000000010002", []pktKind{pktFlush, pktDelim, pktEnd}, []string{"", "", ""}, ""},
		{"upper-case length", "000Ahello\n", []pktKind{pktData}, []string{"hello"}, ""},
		{"empty data", "0004", []pktKind{pktData}, []string{""}, ""},
		{"length 3 is invalid", "0003", nil, nil, "pkt-line length 3"},
		{"not hex", "00g1", nil, nil, "bad pkt-line length"},
		{"over the longest", "fff1" + strings.Repeat("x", 10), nil, nil, "pkt-line length 65521"},
		{"truncated length", "00", nil, nil, "answer cut short"},
		{"truncated payload", "0010abc", nil, nil, "answer cut short"},
		{"ERR", pkts("ERR access denied\n"), nil, nil, "remote error: access denied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newPktReader(strings.NewReader(tc.in))
			for i := range tc.kinds {
				kind, line, err := r.next()
				if err != nil || kind != tc.kinds[i] || string(line) != tc.payloads[i] {
					t.Fatalf("packet %d = %v %q %v, want %v %q", i, kind, line, err, tc.kinds[i], tc.payloads[i])
				}
			}
			_, _, err := r.next()
			if tc.err == "" {
				if !errors.Is(err, errCutShort) || !strings.Contains(err.Error(), "EOF") {
					t.Fatalf("after the packets: %v, want EOF", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
}

func TestReadDiscovery(t *testing.T) {
	v2caps := []string{"version 2\n", "agent=git/2.39.5\n", "ls-refs=unborn\n", "object-format=sha1\n", "0000"}
	cases := []struct {
		name, in string
		v2       bool
		listing  string
		useGit   string // part of the reason, if git must list it
		err      string // part of another error
	}{
		{"v2 without the service section", pkts(v2caps...), true, "", "", ""},
		{"v2 after the service section", pkts(append([]string{"# service=git-upload-pack\n", "0000"}, v2caps...)...), true, "", "", ""},
		{"v0 with capabilities after NUL, peeled and foreign refs left out", pkts("# service=git-upload-pack\n", "0000",
			id1+" HEAD\x00multi_ack symref=HEAD:refs/heads/main object-format=sha1 agent=git/2.39.5\n",
			id1+" refs/heads/main\n", id2+" refs/notes/x\n", id2+" refs/pull/1/head\n",
			id2+" refs/tags/v1\n", id1+" refs/tags/v1^{}\n", idU+" refs/tags/upper\n", id1+" refs/heads/a..b\n", "0000"),
			false, id1 + "\trefs/heads/main\n" + id2 + "\trefs/tags/v1\n" + strings.ToLower(idU) + "\trefs/tags/upper\n", "", ""},
		// What git ls-remote 2.39 lists of these (git-remote-https hands each line on to git).
		{"v0 names as git reads them", pkts("# service=git-upload-pack\n", "0000", id1+" HEAD\x00caps\n",
			id1+" refs/heads/a b\n", id1+" refs/heads/c d\r\n", id1+" refs/heads/e\r f\n", id1+" refs/heads/g\r\r\n",
			id1+" refs/heads/h  i\n", id1+" refs/heads/j\r\n", id1+" refs/heads/k\x00junk\n", "0000"),
			false, id1 + "\trefs/heads/a\n" + id1 + "\trefs/heads/c\n" + id1 + "\trefs/heads/h\n" + id1 + "\trefs/heads/j\n" +
				id1 + "\trefs/heads/k\n", "", ""},
		{"version 1", pkts("# service=git-upload-pack\n", "0000", "version 1\n", id1+" refs/heads/main\x00caps\n", "0000"),
			false, id1 + "\trefs/heads/main\n", "", ""},
		{"empty repository", pkts("# service=git-upload-pack\n", "0000", nullID+" capabilities^{}\x00caps\n", "0000"), false, "", "", ""},
		{"capabilities^{} later", pkts("# service=git-upload-pack\n", "0000", id1+" refs/heads/a\x00c\n", nullID+" capabilities^{}\n", "0000"),
			false, "", "unexpected capabilities^{}", ""},
		{"sha256 in v0", pkts("# service=git-upload-pack\n", "0000", id1+" refs/heads/main\x00object-format=sha256\n", "0000"), false, "", "object format", ""},
		{"sha256 in v2", pkts("version 2\n", "ls-refs\n", "object-format=sha256\n", "0000"), false, "", "object format", ""},
		{"v2 without ls-refs", pkts("version 2\n", "fetch\n", "0000"), false, "", "no ls-refs", ""},
		{"other service", pkts("# service=git-receive-pack\n", "0000"), false, "", "service", ""},
		{"no service line, no version", pkts(id1 + " refs/heads/main\x00c\n"), false, "", "unexpected first line", ""},
		{"flush first", "0000", false, "", "expected service", ""},
		{"flush after the service section", pkts("# service=git-upload-pack\n", "0000", "0000"), false, "", "", ""},
		{"flush after version 1", pkts("# service=git-upload-pack\n", "0000", "version 1\n", "0000"), false, "", "", ""},
		{"delim after the service section", pkts("# service=git-upload-pack\n", "0000", "0001"), false, "", "expected a ref advertisement", ""},
		{"delim in the service section", pkts("# service=git-upload-pack\n", "0001"), false, "", "special packet in the service section", ""},
		{"garbage ref line", pkts("# service=git-upload-pack\n", "0000", "hello world\n", "0000"), false, "", "expected an id and a ref", ""},
		{"delim among refs", pkts("# service=git-upload-pack\n", "0000", id1+" refs/heads/a\x00c\n", "0001"), false, "", "special packet", ""},
		{"truncated advertisement", pkts("# service=git-upload-pack\n", "0000", id1+" refs/heads/a\x00c\n")[:70], false, "", "", "answer cut short"},
		{"ERR in the advertisement", pkts("# service=git-upload-pack\n", "0000", "ERR no such repository\n"), false, "", "", "remote error: no such repository"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var l listing
			caps, v2, err := readDiscovery(newPktReader(strings.NewReader(tc.in)), &l)
			switch {
			case tc.useGit != "":
				if !errors.Is(err, ErrUseGit) || !strings.Contains(err.Error(), tc.useGit) {
					t.Fatalf("error %v, want ErrUseGit with %q", err, tc.useGit)
				}
			case tc.err != "":
				if err == nil || errors.Is(err, ErrUseGit) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
			case err != nil || v2 != tc.v2 || string(l.out) != tc.listing:
				t.Fatalf("readDiscovery = v2 %v, %q, %v; want v2 %v, %q", v2, l.out, err, tc.v2, tc.listing)
			case v2 && caps["ls-refs"] != "unborn":
				t.Fatalf("capabilities %v", caps)
			}
		})
	}
}

func TestReadLsRefs(t *testing.T) {
	cases := []struct{ name, in, listing, useGit, err string }{
		{"refs with attributes", pkts(id1+" refs/heads/main symref-target:x\n", id2+" refs/tags/v1 peeled:"+id1+"\n", "0000"),
			id1 + "\trefs/heads/main\n" + id2 + "\trefs/tags/v1\n", "", ""},
		{"the second field is the name", pkts(id1+" refs/heads/a b\n", "0000"), id1 + "\trefs/heads/a\n", "", ""},
		// git ls-remote lists refs/heads/a and b, reading each line up to its NUL.
		{"a NUL ends the line", pkts(id1+" refs/heads/a\x00junk\n", id2+" refs/heads/b\x00 x\n", "0000"),
			id1 + "\trefs/heads/a\n" + id2 + "\trefs/heads/b\n", "", ""},
		{"a NUL in the id", pkts(id1[:20]+"\x00"+id1[21:]+" refs/heads/a\n", "0000"), "", "invalid ls-refs line", ""},
		{"no refs", "0000", "", "", ""},
		{"unborn", pkts("unborn HEAD symref-target:refs/heads/main\n", "0000"), "", "invalid ls-refs line", ""},
		{"one field", pkts(id1+"\n", "0000"), "", "invalid ls-refs line", ""},
		{"response end instead of flush", pkts(id1+" refs/heads/a\n", "0002"), "", "special packet", ""},
		{"cut short", pkts(id1 + " refs/heads/a\n"), "", "", "answer cut short"},
		{"ERR", pkts("ERR upload-pack: not our ref\n"), "", "", "remote error: upload-pack: not our ref"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var l listing
			err := readLsRefs(newPktReader(strings.NewReader(tc.in)), &l)
			switch {
			case tc.useGit != "":
				if !errors.Is(err, ErrUseGit) || !strings.Contains(err.Error(), tc.useGit) {
					t.Fatalf("error %v, want ErrUseGit with %q", err, tc.useGit)
				}
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
			case err != nil || string(l.out) != tc.listing:
				t.Fatalf("readLsRefs = %q, %v; want %q", l.out, err, tc.listing)
			}
		})
	}
}

func TestListingStopsAtTheCap(t *testing.T) {
	var l listing
	name := "refs/heads/" + strings.Repeat("x", 200)
	for i := 0; ; i++ {
		if err := l.add([]byte(id1), []byte(name)); err != nil {
			if !errors.Is(err, errTooManyRefs) || len(l.out) > git.MaxLsRemoteOutput {
				t.Fatalf("after %d refs: %v with %d bytes", i, err, len(l.out))
			}
			return
		}
	}
}

func TestLsRefsRequest(t *testing.T) {
	got := string(lsRefsRequest(map[string]string{"ls-refs": "", "agent": "x", "object-format": "sha1"}))
	want := pkts("command=ls-refs\n", "agent=git/pipelined\n", "object-format=sha1\n", "0001",
		"ref-prefix refs/heads/\n", "ref-prefix refs/tags/\n", "0000")
	if got != want {
		t.Errorf("request = %q, want %q", got, want)
	}
	got = string(lsRefsRequest(map[string]string{"ls-refs": ""}))
	want = pkts("command=ls-refs\n", "0001", "ref-prefix refs/heads/\n", "ref-prefix refs/tags/\n", "0000")
	if got != want {
		t.Errorf("request without agent and object-format = %q, want %q", got, want)
	}
}

// BenchmarkReadLsRefs is the parsing part of an in-process listing: 500 refs of ls-refs
// into git ls-remote's text.
func BenchmarkReadLsRefs(b *testing.B) {
	var lines []string
	for i := 0; i < 500; i++ {
		lines = append(lines, fmt.Sprintf("%s refs/heads/branch-%04d\n", id1, i))
	}
	answer := pkts(append(lines, "0000")...)
	b.SetBytes(int64(len(answer)))
	for b.Loop() {
		var l listing
		if err := readLsRefs(newPktReader(strings.NewReader(answer)), &l); err != nil {
			b.Fatal(err)
		}
	}
}
