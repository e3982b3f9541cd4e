package xmlsec

import (
	"bytes"
	"errors"
	"runtime"
	"testing"
)

// TestDeepNesting: 10^6 nested elements stop at the depth limit during
// the single token pass, before the tree grows past the limit.
func TestDeepNesting(t *testing.T) {
	const n = 1000000
	in := append(bytes.Repeat([]byte("<a>"), n), bytes.Repeat([]byte("</a>"), n)...)
	lim := DefaultLimits()
	lim.MaxBytes = int64(len(in))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Parse(bytes.NewReader(in), lim)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooDeep) {
		t.Fatalf("got %v, want %v", err, ErrTooDeep)
	}
	// reading the input (io.ReadAll grows its buffer) is the only large
	// allocation; no tree and no per-element state is built
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 6*uint64(len(in)) {
		t.Errorf("allocated %d bytes for %d input bytes", alloc, len(in))
	}
	t.Run("just inside the limit", func(t *testing.T) {
		ok := append(bytes.Repeat([]byte("<a>"), lim.MaxDepth), bytes.Repeat([]byte("</a>"), lim.MaxDepth)...)
		if _, err := ParseBytes(ok, lim); !errors.Is(err, nil) {
			t.Fatal(err)
		}
	})
}
