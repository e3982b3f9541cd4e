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
