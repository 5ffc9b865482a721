package config

import "fmt"

// MaxValueSize bounds one value that %(name)s references (or %%) make: a few lines of nested
// references ("a = %(b)s%(b)s…" ten levels deep) would otherwise expand to gigabytes, which
// configparser would try to build. A value without "%" is bounded by [MaxFileSize] instead.
const MaxValueSize = 1 << 20

// MaxEffectiveSize bounds the effective size of a configuration: what it costs to read it
// and to hold it once [DEFAULT] is merged into every section and values are interpolated.
// Every key and section header written in the file counts fileKeyCost; every section but
// DEFAULT counts sectionCost, and each of its keys — its own and every one it inherits from
// [DEFAULT] — keyCost plus the length of its value after interpolation or in the file,
// whichever is larger. Up to a small factor that is the memory a load takes, the work it
// does and what Dump writes (the daemon writes a snapshot of the configuration at every
// start): a [DEFAULT] value is shared, not copied, by the sections that inherit it, but each
// of them decodes and dumps it.
//
// A few hundred projects take about 2 MiB, the 1,000 of the benchmarks about 6 MiB; 16 MiB
// leaves room for some 2,500 projects while a load — possibly a reload beside the
// configuration in use — stays within a few tens of megabytes and a fraction of a second.
// Without the bound one 1 MiB [DEFAULT] value inherited by 1,600 sections weighs 1.6 GB, and
// 2,000 empty helper keys in [DEFAULT] cost 1.5 GB of maps with 1,600 sections. It is checked
// while the file is read, as a running total, before anything is decoded or dumped.
const MaxEffectiveSize = 32 << 20

// The parts of the effective size that are not text, measured (Go 1.26, amd64): a key or
// header written in the file takes about fileKeyCost to read (gopkg.in/ini.v1's key and maps,
// ours, a warning if the key is unknown), a key of a section about keyCost (the map entries
// that hold it), and a section about sectionCost (the decoded project keeps only the keys
// that differ from their default: about 700 bytes for one that takes the rest from
// [DEFAULT]).
const (
	fileKeyCost = 512
	keyCost     = 128
	sectionCost = 1 << 10
)

// tooLarge is the message of a configuration beyond MaxEffectiveSize.
func tooLarge() string {
	return fmt.Sprintf("the configuration grows beyond %d MiB here, counting every key of every section — a [DEFAULT] key once for each section that inherits it, a %%(name)s reference at its expanded size — and some bytes for each key and section however short; make large values smaller, set them only in the sections that need them, or leave out unused keys", MaxEffectiveSize>>20)
}
