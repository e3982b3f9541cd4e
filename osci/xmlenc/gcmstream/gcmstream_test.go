package gcmstream

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// reference seals with crypto/cipher, the implementation we must match.
func reference(t testing.TB, key, iv, pt []byte) []byte {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	g, err := cipher.NewGCMWithNonceSize(b, len(iv))
	if err != nil {
		t.Fatal(err)
	}
	return append(append([]byte{}, iv...), g.Seal(nil, iv, pt, nil)...)
}

// chunkedWriter splits writes at random boundaries.
func writeChunked(t *testing.T, w io.Writer, p []byte, rng *rand.Rand) {
	t.Helper()
	for len(p) > 0 {
		n := 1 + rng.IntN(min(len(p), 1+rng.IntN(70000)))
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
}

// chunkedReader returns reads of random size.
type chunkedReader struct {
	r   io.Reader
	rng *rand.Rand
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1+c.rng.IntN(len(p))]
	}
	return c.r.Read(p)
}

// testLengths returns the edge lengths and, for the parameter sets OSCI
// uses (AES-256 with 12- or 16-byte IVs), random lengths up to 3 MB.
func testLengths(rng *rand.Rand, many bool) []int {
	ls := []int{0, 1, 15, 16, 17, 31, 32, 33, 127, 128, 129, 143, 144, 511, 512, 513, 65535, 65536, 65537, 70000}
	if many {
		for range 6 {
			ls = append(ls, rng.IntN(3<<20))
		}
	}
	return ls
}

func TestAgainstCryptoCipher(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, keyLen := range []int{16, 24, 32} {
		for _, ivLen := range []int{12, 16, 1, 60} {
			for _, n := range testLengths(rng, keyLen == 32 && (ivLen == 12 || ivLen == 16) && !testing.Short()) {
				key := randBytes(rng, keyLen)
				iv := randBytes(rng, ivLen)
				pt := randBytes(rng, n)
				want := reference(t, key, iv, pt)

				var sealed bytes.Buffer
				w, err := NewWriter(&sealed, key, iv)
				if err != nil {
					t.Fatal(err)
				}
				writeChunked(t, w, pt, rng)
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(sealed.Bytes(), want) {
					t.Fatalf("key %d iv %d len %d: ciphertext differs from crypto/cipher", keyLen, ivLen, n)
				}

				var out bytes.Buffer
				if _, err := Open(&out, bytes.NewReader(want), int64(len(want)), key, ivLen); err != nil || !bytes.Equal(out.Bytes(), pt) {
					t.Fatalf("key %d iv %d len %d: Open: %v, equal %v", keyLen, ivLen, n, err, bytes.Equal(out.Bytes(), pt))
				}
				out.Reset()
				sp := Spool{Dir: t.TempDir(), MemBytes: int64(rng.IntN(2) - 1)} // 0 (memory first) or -1 (file)
				if _, err := OpenStream(&out, &chunkedReader{bytes.NewReader(want), rng}, key, ivLen, sp); err != nil || !bytes.Equal(out.Bytes(), pt) {
					t.Fatalf("key %d iv %d len %d: OpenStream: %v", keyLen, ivLen, n, err)
				}
			}
		}
	}
}

// TestCounterWrap checks inc32: with a 16-byte IV, J0 is arbitrary and its
// low 32 bits may wrap within a message; only those bits may change.
func TestCounterWrap(t *testing.T) {
	key := make([]byte, 32)
	s, err := newState(key, make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	var ctr [16]byte
	for i := range 12 {
		ctr[i] = 0xaa
	}
	copy(ctr[12:], []byte{0xff, 0xff, 0xff, 0xff})
	s.setCounter(ctr)
	// Pieces that straddle the wrap mid-block, as a Writer's may.
	got := make([]byte, 48)
	for _, r := range [][2]int{{0, 7}, {7, 27}, {27, 48}} {
		if err := s.xorKeyStream(got[r[0]:r[1]], got[r[0]:r[1]]); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := aes.NewCipher(key)
	var want []byte
	for _, low := range [][]byte{{0xff, 0xff, 0xff, 0xff}, {0, 0, 0, 0}, {0, 0, 0, 1}} {
		ctr := bytes.Repeat([]byte{0xaa}, 12)
		ctr = append(ctr, low...)
		blk := make([]byte, 16)
		b.Encrypt(blk, ctr)
		want = append(want, blk...)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("keystream does not wrap the low 32 bits only")
	}
}

func TestTamperedInputReleasesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	key := randBytes(rng, 32)
	for _, ivLen := range []int{12, 16} {
		for _, n := range []int{0, 1, 100, 200000} {
			iv := randBytes(rng, ivLen)
			sealed := reference(t, key, iv, randBytes(rng, n))
			cases := []struct {
				name string
				in   []byte
				key  []byte
			}{
				{"flipped iv", flip(sealed, 0), key},
				{"flipped first ciphertext byte", flip(sealed, ivLen), key},
				{"flipped last ciphertext byte", flip(sealed, len(sealed)-TagSize-1), key},
				{"flipped tag", flip(sealed, len(sealed)-1), key},
				{"truncated by one byte", sealed[:len(sealed)-1], key},
				{"tag only", sealed[len(sealed)-TagSize:], key},
				{"empty", nil, key},
				{"extended by one byte", append(append([]byte{}, sealed...), 0), key},
				{"wrong key", sealed, randBytes(rng, 32)},
			}
			for _, c := range cases {
				if c.name == "flipped first ciphertext byte" && n == 0 || c.name == "flipped last ciphertext byte" && n == 0 {
					continue
				}
				t.Run(c.name, func(t *testing.T) {
					var out bytes.Buffer
					k, err := Open(&out, bytes.NewReader(c.in), int64(len(c.in)), c.key, ivLen)
					if !errors.Is(err, ErrAuth) || k != 0 || out.Len() != 0 {
						t.Fatalf("Open: err %v, %d bytes released", err, out.Len())
					}
					k, err = OpenStream(&out, bytes.NewReader(c.in), c.key, ivLen, Spool{Dir: t.TempDir()})
					if !errors.Is(err, ErrAuth) || k != 0 || out.Len() != 0 {
						t.Fatalf("OpenStream: err %v, %d bytes released", err, out.Len())
					}
				})
			}
		}
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte{}, b...)
	c[i] ^= 0x01
	return c
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func TestParameterErrors(t *testing.T) {
	cases := []struct {
		name  string
		key   []byte
		ivLen int
		want  error
	}{
		{"key 15 bytes", make([]byte, 15), 12, ErrKeySize},
		{"key 33 bytes", make([]byte, 33), 12, ErrKeySize},
		{"iv 0 bytes", make([]byte, 32), 0, ErrIVSize},
		{"iv too long", make([]byte, 32), MaxIVSize + 1, ErrIVSize},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := NewWriter(io.Discard, c.key, make([]byte, c.ivLen)); !errors.Is(err, c.want) {
				t.Fatalf("NewWriter: %v", err)
			}
			in := make([]byte, 64)
			if _, err := Open(io.Discard, bytes.NewReader(in), 64, c.key, c.ivLen); !errors.Is(err, c.want) {
				t.Fatalf("Open: %v", err)
			}
			if _, err := OpenStream(io.Discard, bytes.NewReader(in), c.key, c.ivLen, Spool{}); !errors.Is(err, c.want) {
				t.Fatalf("OpenStream: %v", err)
			}
		})
	}
}

func TestSpoolLimit(t *testing.T) {
	key := make([]byte, 32)
	sealed := reference(t, key, make([]byte, 12), make([]byte, 5000))
	var out bytes.Buffer
	_, err := OpenStream(&out, bytes.NewReader(sealed), key, 12, Spool{MaxBytes: 4000})
	if !errors.Is(err, ErrTooLarge) || out.Len() != 0 {
		t.Fatalf("err %v, %d bytes released", err, out.Len())
	}
}

// changingReaderAt serves the original bytes on the first pass and a
// modified copy afterwards, as a concurrent writer of the source would.
type changingReaderAt struct {
	a, b  []byte
	reads int
	limit int
}

func (c *changingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.reads++
	src := c.a
	if c.reads > c.limit {
		src = c.b
	}
	return bytes.NewReader(src).ReadAt(p, off)
}

func TestSourceChangedBetweenPasses(t *testing.T) {
	key := make([]byte, 32)
	sealed := reference(t, key, make([]byte, 12), make([]byte, 3*chunkSize))
	// reads: iv, tag, then 4 chunk reads in pass 1 (3 full + EOF).
	src := &changingReaderAt{a: sealed, b: flip(sealed, 12+2*chunkSize), limit: 6}
	_, err := Open(io.Discard, src, int64(len(sealed)), key, 12)
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("got %v, want ErrAuth", err)
	}
}

func TestWriteAfterClose(t *testing.T) {
	w, err := NewWriter(io.Discard, make([]byte, 16), make([]byte, 12))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}
