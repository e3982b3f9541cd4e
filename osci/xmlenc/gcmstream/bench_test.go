package gcmstream

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"io"
	"strconv"
	"testing"
	"time"
)

// benchSizes are the payload sizes of every benchmark here, ours and the
// crypto/cipher floor alike, so each figure has its floor from the same run.
var benchSizes = []int{16 << 10, 1 << 20, 16 << 20}

func BenchmarkSeal(b *testing.B) {
	for _, size := range benchSizes {
		pt := make([]byte, size)
		key, iv := make([]byte, 32), make([]byte, 12)
		b.Run(sizeName(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				w, err := NewWriter(io.Discard, key, iv)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := w.Write(pt); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, size := range benchSizes {
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

func BenchmarkOpenStream(b *testing.B) {
	for _, size := range benchSizes {
		key, iv := make([]byte, 32), make([]byte, 12)
		sealed, _ := Seal(key, iv, make([]byte, size))
		sp := Spool{Dir: b.TempDir()}
		b.Run(sizeName(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := OpenStream(io.Discard, bytes.NewReader(sealed), key, 12, sp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCryptoCipherGCM is the floor: crypto/cipher's one-shot,
// in-memory AES-256-GCM on the same sizes.
func BenchmarkCryptoCipherGCM(b *testing.B) {
	blk, _ := aes.NewCipher(make([]byte, 32))
	g, _ := cipher.NewGCM(blk)
	iv := make([]byte, 12)
	for _, size := range benchSizes {
		pt := make([]byte, size)
		out := make([]byte, 0, size+TagSize)
		sealed := g.Seal(nil, iv, pt, nil)
		b.Run("Seal/"+sizeName(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				out = g.Seal(out[:0], iv, pt, nil)
			}
		})
		b.Run("Open/"+sizeName(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				var err error
				if out, err = g.Open(out[:0], iv, sealed, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVsCryptoCipher prints each figure beside its floor: every
// iteration runs ours and crypto/cipher's one-shot GCM on the same bytes,
// one right after the other, so both see the same machine load, and
// reports both throughputs and their ratio. Both write their whole output
// to memory (ours through an io.Writer into a buffer as large as
// crypto/cipher's), so neither is spared the stores. It is meaningful even
// with -benchtime=1x (make bench): a warm-up pair runs first, untimed.
func BenchmarkVsCryptoCipher(b *testing.B) {
	key, iv := make([]byte, 32), make([]byte, 12)
	blk, _ := aes.NewCipher(key)
	g, _ := cipher.NewGCM(blk)
	for _, size := range []int{1 << 20, 16 << 20} {
		pt := make([]byte, size)
		sealed := append(append([]byte{}, iv...), g.Seal(nil, iv, pt, nil)...)
		out := make([]byte, 0, size+TagSize)
		sink := &memWriter{b: make([]byte, 0, len(iv)+size+TagSize)}
		ops := []struct {
			name   string
			ours   func() error
			stdlib func() error
		}{
			{"Seal", func() error {
				sink.b = sink.b[:0]
				w, err := NewWriter(sink, key, iv)
				if err != nil {
					return err
				}
				if _, err := w.Write(pt); err != nil {
					return err
				}
				return w.Close()
			}, func() error {
				out = g.Seal(out[:0], iv, pt, nil)
				return nil
			}},
			{"Open", func() error {
				sink.b = sink.b[:0]
				_, err := Open(sink, bytes.NewReader(sealed), int64(len(sealed)), key, len(iv))
				return err
			}, func() error {
				var err error
				out, err = g.Open(out[:0], iv, sealed[len(iv):], nil)
				return err
			}},
		}
		for _, op := range ops {
			b.Run(op.name+"/"+sizeName(size), func(b *testing.B) {
				run := func(f func() error) time.Duration {
					start := time.Now()
					if err := f(); err != nil {
						b.Fatal(err)
					}
					return time.Since(start)
				}
				run(op.ours)
				run(op.stdlib)
				var ours, floor time.Duration
				n := 0
				for b.Loop() {
					ours += run(op.ours)
					floor += run(op.stdlib)
					n++
				}
				mbs := func(d time.Duration) float64 { return float64(size) * float64(n) / d.Seconds() / 1e6 }
				b.ReportMetric(mbs(ours), "MB/s")
				b.ReportMetric(mbs(floor), "stdlib-MB/s")
				b.ReportMetric(100*floor.Seconds()/ours.Seconds(), "%-of-stdlib")
			})
		}
	}
}

// memWriter appends to a buffer allocated once.
type memWriter struct{ b []byte }

func (w *memWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return strconv.Itoa(n>>20) + "MiB"
	}
	return strconv.Itoa(n>>10) + "KiB"
}
