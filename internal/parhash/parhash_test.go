package parhash

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

// The sum is the SHA-256 of what was written, across writes of every size
// around the buffer size, also when the caller reuses its buffer at once.
func TestSumMatchesSHA256(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, sizes := range [][]int{{}, {0}, {1}, {bufSize}, {bufSize + 1, 3}, {5 * bufSize, 17, bufSize - 1}} {
		h := New()
		want := sha256.New()
		buf := make([]byte, 0, 6*bufSize)
		for _, n := range sizes {
			buf = buf[:n]
			for i := range buf {
				buf[i] = byte(r.Uint32())
			}
			h.Write(buf)
			want.Write(buf)
			for i := range buf { // reused at once
				buf[i] = 0
			}
		}
		if got := h.Sum(); !bytes.Equal(got, want.Sum(nil)) {
			t.Fatalf("sizes %v: sum differs", sizes)
		}
		h.Abort() // a no-op after Sum
	}
}

func BenchmarkWrite(b *testing.B) {
	p := make([]byte, 1<<20)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		h := New()
		h.Write(p)
		h.Sum()
	}
}
