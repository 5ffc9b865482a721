package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"pipelined/internal/git"
	"pipelined/internal/safeopen"
)

// MaxFileSize bounds the configuration file. A few hundred projects take tens of kilobytes;
// a larger file is a mistake, and ini.v1 holds the whole file in its read buffer.
const MaxFileSize = 4 << 20

// Config is a loaded, validated configuration file.
type Config struct {
	File     string
	Projects []*Project // every section except DEFAULT, in file order, disabled ones too
	Warnings []*Error   // unknown keys and likely mistakes (see lint); the file is still used

	byName map[string]*Project
}

// Load reads and validates the file at path. On any problem it returns an error that joins
// every [*Error] found (errors.Join), so that all of them can be shown at once.
//
// The file is opened as safeopen does: a FIFO or a device given as the configuration is
// refused at once rather than waited on, and so is a file over MaxFileSize.
func Load(path string) (*Config, error) {
	cfg, _, err := LoadSource(path)
	return cfg, err
}

// LoadSource is Load, and also returns the file's text: the daemon keeps a copy of it
// (Snapshot) for the programs it starts.
func LoadSource(path string) (*Config, []byte, error) {
	f, err := safeopen.Open(path, os.O_RDONLY, MaxFileSize, true)
	var kind *safeopen.KindError
	switch {
	case errors.As(err, &kind):
		return nil, nil, &Error{File: path, Msg: "cannot read the configuration file: it is " + kind.Kind + ", not a regular file"}
	case errors.As(err, new(*safeopen.SizeError)):
		return nil, nil, &Error{File: path, Msg: fmt.Sprintf("the file is larger than %d MiB; is it the right file?", MaxFileSize>>20)}
	case err != nil:
		return nil, nil, &Error{File: path, Msg: fmt.Sprintf("cannot read the configuration file: %v", errors.Unwrap(err))}
	}
	defer f.Close()
	src, err := readAll(f, path)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := parseText(src, path)
	return cfg, src, err
}

// Parse reads and validates a configuration file from r; name is used in messages.
func Parse(r io.Reader, name string) (*Config, error) {
	src, err := readAll(r, name)
	if err != nil {
		return nil, err
	}
	return parseText(src, name)
}

// readAll reads at most MaxFileSize bytes of a configuration file.
func readAll(r io.Reader, name string) ([]byte, error) {
	var buf bytes.Buffer
	if f, ok := r.(interface{ Stat() (os.FileInfo, error) }); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() <= MaxFileSize {
			// One allocation for the whole file, rather than a series of growing copies.
			buf.Grow(int(fi.Size()) + bytes.MinRead)
		}
	}
	_, err := buf.ReadFrom(io.LimitReader(r, MaxFileSize+1))
	src := buf.Bytes()
	if err != nil {
		return nil, &Error{File: name, Msg: fmt.Sprintf("cannot read the configuration file: %v", err)}
	}
	if len(src) > MaxFileSize {
		return nil, &Error{File: name, Msg: fmt.Sprintf("the file is larger than %d MiB; is it the right file?", MaxFileSize>>20)}
	}
	return src, nil
}

// parse validates a configuration file's text; name is used in messages, and relative
// env_file paths are relative to its directory (to the original's, for a snapshot).
func parseText(src []byte, name string) (*Config, error) {
	p := &problems{file: name, base: filepath.Dir(name)}
	if original, ok := snapshotOf(src); ok {
		p.base = filepath.Dir(original)
	}
	doc := readDocument(src, p)
	if doc == nil {
		return nil, p.join()
	}
	cfg := &Config{File: name}
	warned := map[int]bool{}
	linted := map[string]bool{}
	shared := newDecoded()
	for _, sec := range doc.Sections {
		proj := decodeProject(sec, p, shared)
		cfg.Projects = append(cfg.Projects, proj)
		for _, w := range lint(proj) {
			line, section := sec.Line, sec.Name
			if w.key != "" {
				line = sec.KeyLine(w.key)
				if sec.shared(w.key) {
					section = defaultSection // said once, where it is written
				}
			}
			if id := fmt.Sprint(line, w.key, w.msg); !linted[id] {
				linted[id] = true
				p.warnf(line, section, w.key, "%s", w.msg)
			}
		}
		for _, key := range sec.Keys {
			if _, known := lookupKey(key); known || doc.referenced[key] || warned[sec.KeyLine(key)] {
				continue
			}
			// A helper key in DEFAULT shows up in every section; one warning is enough.
			warned[sec.KeyLine(key)] = true
			section := sec.Name
			if sec.shared(key) {
				section = defaultSection
			}
			if s := suggest(key); s != "" {
				p.warnf(sec.KeyLine(key), section, key, "unknown key; did you mean %q?", s)
			} else {
				p.warnf(sec.KeyLine(key), section, key, "unknown key, ignored")
			}
		}
	}
	cfg.Warnings = p.warnings
	if len(p.errs) > 0 {
		return nil, p.join()
	}
	cfg.byName = make(map[string]*Project, len(cfg.Projects))
	for _, proj := range cfg.Projects {
		cfg.byName[proj.Name] = proj
	}
	return cfg, nil
}

// ReadDocument reads src the way configparser does, without applying the key table: every
// section with its keys and interpolated values. It is what the differential tests compare
// with Python's own reading.
func ReadDocument(src []byte, name string) (*Document, error) {
	p := &problems{file: name}
	doc := readDocument(src, p)
	if doc == nil {
		return nil, p.join()
	}
	return doc, nil
}

// Project returns the project named name, or nil.
func (c *Config) Project(name string) *Project {
	if c.byName != nil {
		return c.byName[name]
	}
	for _, p := range c.Projects { // a Config made by hand
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Dump writes the effective configuration as INI that configparser reads back to the same
// values: every project, every key of the table, defaults filled in, interpolation
// resolved (so every "%" is doubled) and multi-line values indented.
func (c *Config) Dump(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# effective configuration of %s\n", c.File)
	for _, p := range c.Projects {
		fmt.Fprintf(&b, "\n[%s]\n", p.Name)
		for _, k := range Keys {
			b.WriteString(k.Name + " =")
			if v := maskSecrets(k.Name, p.Value(k.Name)); v != "" {
				b.WriteString(" " + dumpValue(v))
			}
			b.WriteByte('\n')
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// snapshotHeader starts the first line of a snapshot: the daemon's copy of the
// configuration file, which pipeline-build and pipeline-watch read (a broken edit of the
// operator's file never reaches them). The line names the file it copies: env_file paths
// relative to that file stay relative to it.
const snapshotHeader = "# pipelined's copy of "

// Snapshot returns the text of a snapshot of the configuration file at path whose text is
// source: the same text, so that it loads to the same configuration within the same bounds
// (10,000 projects that a [DEFAULT] section fills in stay 10,000 short sections).
func Snapshot(source []byte, path string) []byte {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if base, ok := snapshotOf(source); ok {
		path = base // a copy of a copy names the original
		_, source, _ = bytes.Cut(source, []byte("\n"))
	}
	return append([]byte(snapshotHeader+path+"\n"), source...)
}

// snapshotOf returns the file a snapshot copies, if src is one.
func snapshotOf(src []byte) (string, bool) {
	if !bytes.HasPrefix(src, []byte(snapshotHeader)) {
		return "", false
	}
	line, _, _ := bytes.Cut(src[len(snapshotHeader):], []byte("\n"))
	path := strings.TrimSuffix(string(line), "\r")
	return path, filepath.IsAbs(path)
}

// masked is what a secret is written as in the dump.
const masked = "***"

// maskSecrets hides what is certainly a secret in a key's effective value: env values (the
// names stay, to show what a build gets) and the credentials of a remote URL.
func maskSecrets(key, v string) string {
	switch key {
	case "env":
		lines := strings.Split(v, "\n")
		for i, line := range lines {
			if name, _, ok := strings.Cut(line, "="); ok {
				lines[i] = name + "=" + masked
			}
		}
		return strings.Join(lines, "\n")
	case "remote":
		return git.MaskURL(v)
	}
	return v
}

// dumpValue escapes "%" for BasicInterpolation and indents continuation lines. Effective
// values never have surrounding whitespace, empty lines or lines starting with "#" or ";"
// (see decode), so configparser reads every one back unchanged.
func dumpValue(v string) string {
	out := make([]byte, 0, len(v)+8)
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '%':
			out = append(out, '%', '%')
		case '\n':
			out = append(out, '\n', '\t')
		default:
			out = append(out, v[i])
		}
	}
	return string(out)
}

func (p *problems) join() error {
	errs := make([]error, len(p.errs))
	for i, e := range p.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}
