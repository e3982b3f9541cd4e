package gcmstream

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"io"
	"strconv"
	"testing"
)

func BenchmarkSeal(b *testing.B) {
	for _, size := range []int{16 << 10, 1 << 20} {
		pt := make([]byte, size)
		key, iv := make([]byte, 32), make([]byte, 12)
		b.Run(sizeName(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				w, _ := NewWriter(io.Discard, key, iv)
				w.Write(pt)
				w.Close()
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, size := range []int{16 << 10, 1 << 20} {
		key, iv := make([]byte, 32), make([]byte, 12)
		sealed, _ := Seal(key, iv, make([]byte, size))
		b.Run(sizeName(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := Open(io.Discard, bytes.NewReader(sealed), int64(len(sealed)), key, 12); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCryptoCipherGCM is the one-shot, in-memory reference beside ours.
func BenchmarkCryptoCipherGCM(b *testing.B) {
	size := 1 << 20
	blk, _ := aes.NewCipher(make([]byte, 32))
	g, _ := cipher.NewGCM(blk)
	pt, iv := make([]byte, size), make([]byte, 12)
	out := make([]byte, 0, size+16)
	b.SetBytes(int64(size))
	for b.Loop() {
		out = g.Seal(out[:0], iv, pt, nil)
	}
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return strconv.Itoa(n>>20) + "MiB"
	}
	return "16KiB"
}
