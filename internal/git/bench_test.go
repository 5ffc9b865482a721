package git

import (
	"fmt"
	"strings"
	"testing"
)

func BenchmarkParseLsRemote1000Refs(b *testing.B) {
	var out strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&out, "%040x\trefs/heads/branch-%d\n", i, i)
	}
	data := []byte(out.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if refs, _ := ParseLsRemote(data); len(refs) != 1000 {
			b.Fatal(len(refs))
		}
	}
}
