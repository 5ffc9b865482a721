package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

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
}

// Load reads and validates the file at path. On any problem it returns an error that joins
// every [*Error] found (errors.Join), so that all of them can be shown at once.
//
// The file is opened as safeopen does: a FIFO or a device given as the configuration is
// refused at once rather than waited on, and so is a file over MaxFileSize.
func Load(path string) (*Config, error) {
	f, err := safeopen.Open(path, os.O_RDONLY, MaxFileSize, true)
	var kind *safeopen.KindError
	switch {
	case errors.As(err, &kind):
		return nil, &Error{File: path, Msg: "cannot read the configuration file: it is " + kind.Kind + ", not a regular file"}
	case errors.As(err, new(*safeopen.SizeError)):
		return nil, &Error{File: path, Msg: fmt.Sprintf("the file is larger than %d MiB; is it the right file?", MaxFileSize>>20)}
	case err != nil:
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read the configuration file: %v", errors.Unwrap(err))}
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads and validates a configuration file from r; name is used in messages.
func Parse(r io.Reader, name string) (*Config, error) {
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
	p := &problems{file: name}
	doc := readDocument(src, p)
	if doc == nil {
		return nil, p.join()
	}
	cfg := &Config{File: name}
	warned := map[int]bool{}
	linted := map[string]bool{}
	for _, sec := range doc.Sections {
		proj := decodeProject(sec, p)
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
	for _, p := range c.Projects {
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
			if v := p.values[k.Name]; v != "" {
				b.WriteString(" " + dumpValue(v))
			}
			b.WriteByte('\n')
		}
	}
	_, err := w.Write(b.Bytes())
	return err
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
