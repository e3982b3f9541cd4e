package gcmstream

import (
	"crypto/aes"
	"crypto/cipher"
	"testing"
)

// BenchmarkGHASH and BenchmarkCTR split Seal into its two halves.
func BenchmarkGHASH(b *testing.B) {
	p := make([]byte, 64<<10)
	for _, c := range []struct {
		name string
		m    ghashMethod
	}{{"table", methodTable}, {"clmul", methodCLMUL}, {"clmul4", methodCLMUL4}} {
		if c.m > bestMethod {
			continue
		}
		b.Run(c.name, func(b *testing.B) {
			var g ghash
			g.initWith(make([]byte, 16), c.m)
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				g.write(p)
			}
		})
	}
}

func BenchmarkCTR(b *testing.B) {
	p := make([]byte, 64<<10)
	blk, _ := aes.NewCipher(make([]byte, 32))
	s := cipher.NewCTR(blk, make([]byte, 16))
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		s.XORKeyStream(p, p)
	}
}

func BenchmarkNewState(b *testing.B) {
	key, iv := make([]byte, 32), make([]byte, 12)
	for b.Loop() {
		if _, err := newState(key, iv); err != nil {
			b.Fatal(err)
		}
	}
}
