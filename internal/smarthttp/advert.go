package smarthttp

import (
	"bytes"
	"errors"
	"strings"

	"pipelined/internal/git"
	"pipelined/internal/refname"
)

// errTooManyRefs is a listing longer than git.MaxLsRemoteOutput.
var errTooManyRefs = errors.New("too many refs")

// listing collects what git ls-remote --heads --tags --refs prints: "ID<TAB>REF\n" for each
// ref below refs/heads/ or refs/tags/ whose name is valid, in the server's order. --refs
// leaves out the peeled "^{}" entries and every name git-check-ref-format refuses (both
// fail that check), silently, as git does.
type listing struct{ out []byte }

func (l *listing) add(id, name []byte) error {
	ref := string(name)
	if !refname.IsBranch(ref) && !refname.IsTag(ref) || !refname.ValidRefFormat(ref) {
		return nil
	}
	if len(l.out)+len(id)+len(name)+2 > git.MaxLsRemoteOutput {
		return errTooManyRefs
	}
	// git reads an object id in either case and prints it in lower case.
	for _, c := range id {
		if c >= 'A' && c <= 'F' {
			c += 'a' - 'A'
		}
		l.out = append(l.out, c)
	}
	l.out = append(append(append(l.out, '\t'), name...), '\n')
	return nil
}

// nullID is the all-zero object id.
const nullID = "0000000000000000000000000000000000000000"

// isObjectID reports whether b is a SHA-1 object id in hex, of either case.
func isObjectID(b []byte) bool {
	if len(b) != 40 {
		return false
	}
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// readDiscovery reads the answer to GET info/refs (gitprotocol-http(5)): an optional
// "# service=git-upload-pack" section, then either the v2 capability advertisement, whose
// capabilities it returns (v2 true), or a v0 (or "version 1") ref advertisement, whose refs
// it adds to l.
func readDiscovery(r *pktReader, l *listing) (caps map[string]string, v2 bool, err error) {
	kind, line, err := r.next()
	if err != nil {
		return nil, false, err
	}
	if kind != pktData {
		return nil, false, useGit("malformed answer: expected service, got a special packet")
	}
	service, isHeader := cutPrefix(line, "# service=")
	switch {
	case isHeader && string(service) != "git-upload-pack":
		return nil, false, useGit("malformed answer: service %q", service)
	case isHeader:
		if kind, line, err = skipSection(r); err != nil || kind == pktFlush {
			return nil, false, err // a flush: the empty advertisement of an empty repository
		}
	case string(line) != "version 2":
		// git accepts no other start without the service line.
		return nil, false, useGit("malformed answer: unexpected first line")
	}
	switch string(line) {
	case "version 2":
		caps, err = readCapabilities(r)
		return caps, true, err
	case "version 1":
		if kind, line, err = r.next(); err != nil || kind == pktFlush {
			return nil, false, err
		}
	}
	if kind != pktData {
		return nil, false, useGit("malformed answer: expected a ref advertisement")
	}
	return nil, false, readV0(r, line, l)
}

// skipSection skips the lines of the service section up to its flush and returns the
// packet after it.
func skipSection(r *pktReader) (pktKind, []byte, error) {
	for {
		kind, _, err := r.next()
		if err != nil {
			return 0, nil, err
		}
		if kind == pktFlush {
			return r.next()
		}
		if kind != pktData {
			return 0, nil, useGit("malformed answer: special packet in the service section")
		}
	}
}

// readCapabilities reads v2 capabilities ("key" or "key=value") up to the flush. The
// server must offer ls-refs, and speak SHA-1 if it names an object format.
func readCapabilities(r *pktReader) (map[string]string, error) {
	caps := map[string]string{}
	for {
		kind, line, err := r.next()
		if err != nil {
			return nil, err
		}
		if kind == pktFlush {
			break
		}
		if kind != pktData {
			return nil, useGit("malformed answer: special packet among capabilities")
		}
		key, value, _ := strings.Cut(string(line), "=")
		caps[key] = value
	}
	if _, ok := caps["ls-refs"]; !ok {
		return nil, useGit("the server offers no ls-refs")
	}
	if f, ok := caps["object-format"]; ok && f != "sha1" {
		return nil, useGit("object format %q", f)
	}
	return caps, nil
}

// readV0 reads a v0 ref advertisement, from its first line (which carries the capabilities
// after a NUL) to the flush: "ID SP NAME" per line.
func readV0(r *pktReader, first []byte, l *listing) error {
	line := first
	for i := 0; ; i++ {
		body, caps, _ := bytes.Cut(line, []byte{0})
		if i == 0 {
			for _, c := range strings.Fields(string(caps)) {
				if f, ok := strings.CutPrefix(c, "object-format="); ok && f != "sha1" {
					return useGit("object format %q", f)
				}
			}
		}
		if len(body) < 41 || !isObjectID(body[:40]) || body[40] != ' ' {
			return useGit("malformed answer: expected an id and a ref")
		}
		// An empty repository advertises only this dummy, with the null id; git dies on it
		// anywhere else.
		if string(body[41:]) == "capabilities^{}" && (i > 0 || string(body[:40]) != nullID) {
			return useGit("malformed answer: unexpected capabilities^{}")
		}
		if err := l.add(body[:40], v0Name(body[41:])); err != nil {
			return err
		}
		kind, next, err := r.next()
		if err != nil {
			return err
		}
		if kind == pktFlush {
			return nil
		}
		if kind != pktData {
			return useGit("malformed answer: special packet among refs")
		}
		line = next
	}
}

// v0Name is the name of a v0 ref as git ls-remote sees it: git-remote-https hands the
// line on to git, which drops a "\r" before the line's end and reads what follows a space
// as attributes.
func v0Name(name []byte) []byte {
	name = bytes.TrimSuffix(name, []byte{'\r'})
	name, _, _ = bytes.Cut(name, []byte{' '})
	return name
}

// lsRefsRequest is the v2 ls-refs command for branches and tags. Like git, it names its
// agent and the object format only to a server that advertised them.
func lsRefsRequest(caps map[string]string) []byte {
	b := appendPkt(nil, "command=ls-refs\n")
	if _, ok := caps["agent"]; ok {
		b = appendPkt(b, "agent="+agent+"\n")
	}
	if _, ok := caps["object-format"]; ok {
		b = appendPkt(b, "object-format=sha1\n")
	}
	b = append(b, "0001"...)
	b = appendPkt(b, "ref-prefix "+refname.HeadsPrefix+"\n")
	b = appendPkt(b, "ref-prefix "+refname.TagsPrefix+"\n")
	return append(b, "0000"...)
}

// readLsRefs reads the answer to ls-refs: "ID SP NAME *(SP ATTRIBUTE)" per line up to the
// flush. Like git, it takes the second field as the name and ignores the attributes.
func readLsRefs(r *pktReader, l *listing) error {
	for {
		kind, line, err := r.next()
		if err != nil {
			return err
		}
		if kind == pktFlush {
			return nil
		}
		if kind != pktData {
			return useGit("malformed answer: special packet among refs")
		}
		// git reads the line as a C string: whatever follows a NUL is not there.
		line, _, _ = bytes.Cut(line, []byte{0})
		id, rest, ok := bytes.Cut(line, []byte{' '})
		if !ok || !isObjectID(id) {
			return useGit("malformed answer: invalid ls-refs line")
		}
		name, _, _ := bytes.Cut(rest, []byte{' '})
		if err := l.add(id, name); err != nil {
			return err
		}
	}
}
