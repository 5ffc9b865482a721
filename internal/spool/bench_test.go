package spool

import (
	"strings"
	"testing"
)

func BenchmarkDecodeJob(b *testing.B) {
	text := `{"project":"web","ref":"refs/heads/main","commit":"` + strings.Repeat("a", 40) + `","source":"watch","created":"2026-11-27T06:00:00Z"}`
	for b.Loop() {
		if _, err := DecodeJob(strings.NewReader(text)); err != nil {
			b.Fatal(err)
		}
	}
}
