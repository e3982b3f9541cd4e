package gcmstream

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"testing"
)

// FuzzOpen checks Open and OpenStream against crypto/cipher on arbitrary
// sealed inputs: same verdict, same plaintext, nothing released on failure.
func FuzzOpen(f *testing.F) {
	key := bytes.Repeat([]byte{1}, 32)
	for _, ivLen := range []int{12, 16} {
		sealed, _ := Seal(key, make([]byte, ivLen), []byte("Schriftsatz"))
		f.Add(sealed, uint8(ivLen), false)
		f.Add(flip(sealed, len(sealed)-1), uint8(ivLen), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, ivLen uint8, stream bool) {
		if ivLen == 0 || int(ivLen) > MaxIVSize {
			return
		}
		b, _ := aes.NewCipher(key)
		g, _ := cipher.NewGCMWithNonceSize(b, int(ivLen))
		var want []byte
		var werr error = ErrAuth
		if len(in) >= int(ivLen)+TagSize {
			want, werr = g.Open(nil, in[:ivLen], in[ivLen:], nil)
		}
		var out bytes.Buffer
		var err error
		if stream {
			_, err = OpenStream(&out, bytes.NewReader(in), key, int(ivLen), Spool{})
		} else {
			_, err = Open(&out, bytes.NewReader(in), int64(len(in)), key, int(ivLen))
		}
		switch {
		case werr != nil && (!errors.Is(err, ErrAuth) || out.Len() != 0):
			t.Fatalf("crypto/cipher refuses, we: %v with %d bytes", err, out.Len())
		case werr == nil && (err != nil || !bytes.Equal(out.Bytes(), want)):
			t.Fatalf("crypto/cipher accepts, we: %v", err)
		}
	})
}

// FuzzSeal checks the Writer against crypto/cipher on arbitrary
// plaintexts, IV lengths and write boundaries, and that Open inverts it:
// the assembly GHASH sees every alignment and tail the fuzzer finds.
func FuzzSeal(f *testing.F) {
	f.Add([]byte("Schriftsatz"), uint8(12), uint16(5), byte(1))
	f.Add(make([]byte, 1000), uint8(16), uint16(300), byte(2))
	f.Add(make([]byte, 4097), uint8(1), uint16(256), byte(3))
	f.Fuzz(func(t *testing.T, pt []byte, ivLen uint8, split uint16, seed byte) {
		if ivLen == 0 || int(ivLen) > MaxIVSize {
			return
		}
		key := bytes.Repeat([]byte{seed}, 32)
		iv := bytes.Repeat([]byte{seed ^ 0x5a}, int(ivLen))
		b, _ := aes.NewCipher(key)
		g, _ := cipher.NewGCMWithNonceSize(b, int(ivLen))
		want := append(append([]byte{}, iv...), g.Seal(nil, iv, pt, nil)...)

		var sealed bytes.Buffer
		w, err := NewWriter(&sealed, key, iv)
		if err != nil {
			t.Fatal(err)
		}
		step := 1 + int(split)
		for p := pt; len(p) > 0; {
			k := min(len(p), step)
			if _, err := w.Write(p[:k]); err != nil {
				t.Fatal(err)
			}
			p = p[k:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sealed.Bytes(), want) {
			t.Fatalf("%d bytes in writes of %d: differs from crypto/cipher", len(pt), step)
		}
		var out bytes.Buffer
		if _, err := Open(&out, bytes.NewReader(want), int64(len(want)), key, int(ivLen)); err != nil || !bytes.Equal(out.Bytes(), pt) {
			t.Fatalf("Open: %v", err)
		}
	})
}
