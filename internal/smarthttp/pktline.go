package smarthttp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Kinds of pkt-line (gitprotocol-common(5)).
type pktKind int

const (
	pktData  pktKind = iota
	pktFlush         // 0000: end of a message
	pktDelim         // 0001: end of a section (v2)
	pktEnd           // 0002: end of a response (v2, stateless connections)
)

// maxPktLen is git's LARGE_PACKET_MAX: the longest pkt-line, its length field included.
const maxPktLen = 65520

// RemoteError is an "ERR" pkt-line: the server refused, in its own words.
type RemoteError struct{ Msg string }

func (e *RemoteError) Error() string { return "remote error: " + e.Msg }

// errCutShort marks an answer that ended, or failed to arrive, in the middle.
var errCutShort = errors.New("answer cut short")

// pktReader reads pkt-lines from an answer.
type pktReader struct {
	r   *bufio.Reader
	buf [maxPktLen]byte
}

func newPktReader(r io.Reader) *pktReader { return &pktReader{r: bufio.NewReaderSize(r, 16<<10)} }

// next reads one pkt-line: its kind and, for data, the payload without one trailing "\n"
// (as git's readers chomp it), valid until the next call. An "ERR " line comes back as a
// *RemoteError, as git dies on one wherever it reads.
func (p *pktReader) next() (pktKind, []byte, error) {
	var head [4]byte
	if _, err := io.ReadFull(p.r, head[:]); err != nil {
		return 0, nil, fmt.Errorf("%w: %w", errCutShort, err)
	}
	n, ok := pktLength(head)
	switch {
	case !ok:
		return 0, nil, useGit("malformed answer: bad pkt-line length %q", head[:])
	case n == 0:
		return pktFlush, nil, nil
	case n == 1:
		return pktDelim, nil, nil
	case n == 2:
		return pktEnd, nil, nil
	case n < 4 || n > maxPktLen:
		return 0, nil, useGit("malformed answer: pkt-line length %d", n)
	}
	line := p.buf[:n-4]
	if _, err := io.ReadFull(p.r, line); err != nil {
		return 0, nil, fmt.Errorf("%w: %w", errCutShort, err)
	}
	if len(line) > 0 && line[len(line)-1] == '\n' {
		line = line[:len(line)-1]
	}
	if msg, ok := cutPrefix(line, "ERR "); ok {
		return 0, nil, &RemoteError{Msg: string(msg)}
	}
	return pktData, line, nil
}

// pktLength reads the four hex digits of a length field; git takes either case.
func pktLength(head [4]byte) (int, bool) {
	n := 0
	for _, c := range head {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int(v)
	}
	return n, true
}

// appendPkt appends s as one pkt-line.
func appendPkt(b []byte, s string) []byte {
	return append(fmt.Appendf(b, "%04x", len(s)+4), s...)
}

func cutPrefix(b []byte, prefix string) ([]byte, bool) {
	if len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix {
		return b[len(prefix):], true
	}
	return b, false
}
