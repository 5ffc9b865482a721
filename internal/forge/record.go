package forge

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"pipelined/internal/refname"
	"pipelined/internal/workdir"
)

// Record is one status to deliver: a file in the outbox. It names the project, not the
// forge: where it goes and with which token always comes from the configuration, so that a
// file someone drops into the outbox can never send the token elsewhere (as a job file can
// never name a remote, SPEC §9).
type Record struct {
	Project     string    `json:"project"`
	Ref         string    `json:"ref"`
	Commit      string    `json:"commit"`
	Context     string    `json:"context"` // expanded forge.context
	TargetURL   string    `json:"target_url,omitempty"`
	State       State     `json:"state"`
	Description string    `json:"description"`
	At          time.Time `json:"at"` // when the state changed: of two records of a key, the later wins
}

// Bounds of a record, so that a hostile file costs nothing to read.
const (
	maxRecordSize      = 16 << 10
	maxDescriptionSize = 4 << 10
	maxContextSize     = 1 << 10
)

// Key is what the newest state is kept per: the project, the commit and the context (a
// forge keeps one status per commit and context).
func (r Record) Key() string {
	sum := sha256.Sum256([]byte(r.Project + "\x00" + r.Commit + "\x00" + r.Context))
	return hex.EncodeToString(sum[:12])
}

// Validate refuses a record pipelined would not have written.
func (r Record) Validate() error {
	switch {
	case !workdir.ValidProjectName(r.Project):
		return errors.New("no valid project name")
	case refname.CheckRef(r.Ref) != nil:
		return errors.New("no valid ref")
	case !refname.ValidCommit(r.Commit):
		return errors.New("no valid commit")
	case r.Context == "" || len(r.Context) > maxContextSize || len(r.TargetURL) > maxContextSize:
		return errors.New("no context, or a context or target URL too long")
	case len(r.Description) > maxDescriptionSize:
		return errors.New("a description too long")
	case !utf8.ValidString(r.Context + r.TargetURL + r.Description):
		return errors.New("text that is not UTF-8")
	case r.At.IsZero():
		return errors.New("no time")
	}
	if _, ok := table[r.State]; !ok {
		return fmt.Errorf("state %q, which is not in the state table", r.State)
	}
	return nil
}

// encode is the record's file content.
func (r Record) Encode() []byte {
	data, _ := json.Marshal(r) // a struct of strings and a time: cannot fail
	return append(data, '\n')
}

// decodeRecord reads one record; any field it does not know, or trailing data, is an error.
func decodeRecord(rd io.Reader) (Record, error) {
	var r Record
	dec := json.NewDecoder(io.LimitReader(rd, maxRecordSize+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Record{}, fmt.Errorf("not a status record: %v", Clip(err.Error()))
	}
	if dec.More() {
		return Record{}, errors.New("not a status record: data after the record")
	}
	return r, r.Validate()
}

// fileName is "<unix nanoseconds of At>.<key>.<unique>.json": sorting names sorts by time,
// and the key groups a commit's records without reading them.
// FileName is the name of a record's file: its time, its key and a unique part.
func FileName(r Record, unique string) string {
	return fmt.Sprintf("%020d.%s.%s.json", r.At.UnixNano(), r.Key(), unique)
}

// parseName returns the time and key of a record's file name.
func parseName(name string) (at int64, key string, ok bool) {
	parts := strings.Split(name, ".")
	if len(parts) != 4 || parts[3] != "json" || len(parts[0]) != 20 || len(parts[1]) != 24 {
		return 0, "", false
	}
	for _, c := range parts[0] {
		if c < '0' || c > '9' {
			return 0, "", false
		}
		at = at*10 + int64(c-'0')
	}
	if _, err := hex.DecodeString(parts[1]); err != nil {
		return 0, "", false
	}
	return at, parts[1], true
}

// clip bounds a text from elsewhere (a parse error quoting a file, a forge's message) for a
// log line or a reason file: at most 300 bytes, control characters replaced.
// Clip makes s one line of at most 300 bytes, for a log line or a reason.
func Clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if len(s) > 300 {
		s = s[:300]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return string(bytes.TrimSpace([]byte(s)))
}
