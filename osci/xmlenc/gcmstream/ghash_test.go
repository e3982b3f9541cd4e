package gcmstream

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// mulField multiplies bit by bit (SP 800-38D Algorithm 1): the reference
// both GHASH methods are held to.
func mulField(x, y fieldElement) fieldElement {
	var z fieldElement
	for i := range 128 {
		var bit uint64
		if i < 64 {
			bit = x.hi >> (63 - i) & 1
		} else {
			bit = x.lo >> (127 - i) & 1
		}
		z.hi ^= y.hi & -bit
		z.lo ^= y.lo & -bit
		y = y.timesX()
	}
	return z
}

// referenceGHASH is SP 800-38D Algorithm 2 over p, zero-padded, with the
// length block for no AAD.
func referenceGHASH(h, p []byte) [16]byte {
	H := loadElement(h)
	var y fieldElement
	absorb := func(b []byte) {
		x := loadElement(b)
		y = mulField(fieldElement{y.hi ^ x.hi, y.lo ^ x.lo}, H)
	}
	for len(p) > 0 {
		var b [16]byte
		n := copy(b[:], p)
		absorb(b[:])
		p = p[n:]
	}
	var out [16]byte
	y.store(out[:])
	return out
}

func TestGHASHMethodsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	methods := []ghashMethod{methodTable}
	for m := methodCLMUL; m <= bestMethod; m++ {
		methods = append(methods, m)
	}
	t.Logf("GHASH methods tested on this CPU: %v", methods)
	lengths := []int{0, 1, 15, 16, 17, 112, 127, 128, 129, 143, 144, 255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 1535, 1536, 4099}
	for range 20 {
		lengths = append(lengths, rng.IntN(20000))
	}
	for _, n := range lengths {
		h := randBytes(rng, 16)
		p := randBytes(rng, n)
		var lens [16]byte
		lens[15] = 1 // any final block: the reference takes it as data
		want := referenceGHASH(h, append(padded(p), lens[:]...))
		for _, m := range methods {
			var g ghash
			g.initWith(h, m)
			for q := p; len(q) > 0; {
				k := 1 + rng.IntN(min(len(q), 1+rng.IntN(600)))
				g.write(q[:k])
				q = q[k:]
			}
			g.padFlush()
			g.blocks(lens[:])
			var got [16]byte
			g.y.store(got[:])
			if got != want {
				t.Fatalf("method %d, %d bytes: GHASH %x, want %x", m, n, got, want)
			}
		}
	}
}

func padded(p []byte) []byte {
	out := append([]byte{}, p...)
	for len(out)%16 != 0 {
		out = append(out, 0)
	}
	return out
}

type katVector struct{ name, key, iv, pt, ct, tag string }

func readVectors(t *testing.T, path string) []katVector {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vs []katVector
	var v katVector
	// A "# name" line names the next vector; its Tag line ends it.
	fields := map[string]*string{"Key": &v.key, "IV": &v.iv, "PT": &v.pt, "CT": &v.ct, "Tag": &v.tag}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if name, ok := strings.CutPrefix(line, "#"); ok {
			v.name = strings.TrimSpace(name)
			continue
		}
		k, val, _ := strings.Cut(line, "=")
		if p, ok := fields[strings.TrimSpace(k)]; ok {
			*p = strings.TrimSpace(val)
		}
		if v.tag != "" {
			vs = append(vs, v)
			v = katVector{}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPublishedVectors holds Seal, Open and OpenStream to the NIST CAVP and
// GCM specification vectors in testdata (their sources are named there).
func TestPublishedVectors(t *testing.T) {
	vs := readVectors(t, "testdata/aes256-gcm-vectors.rsp")
	if len(vs) != 9 {
		t.Fatalf("read %d vectors, want 9", len(vs))
	}
	for _, v := range vs {
		t.Run(v.name, func(t *testing.T) {
			key, iv, pt := mustHex(t, v.key), mustHex(t, v.iv), mustHex(t, v.pt)
			want := append(append(append([]byte{}, iv...), mustHex(t, v.ct)...), mustHex(t, v.tag)...)
			got, err := Seal(key, iv, pt)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("Seal: %v\n got %x\nwant %x", err, got, want)
			}
			var out bytes.Buffer
			if _, err := Open(&out, bytes.NewReader(want), int64(len(want)), key, len(iv)); err != nil || !bytes.Equal(out.Bytes(), pt) {
				t.Fatalf("Open: %v", err)
			}
			out.Reset()
			if _, err := OpenStream(&out, bytes.NewReader(want), key, len(iv), Spool{}); err != nil || !bytes.Equal(out.Bytes(), pt) {
				t.Fatalf("OpenStream: %v", err)
			}
		})
	}
}

// TestEveryFlippedBitIsRefused flips each bit of a sealed message in turn,
// IV, ciphertext (across an eight-block group and a tail) and tag: every
// one must fail with ErrAuth and release nothing.
func TestEveryFlippedBitIsRefused(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	key := randBytes(rng, 32)
	for _, ivLen := range []int{12, 16} {
		sealed := reference(t, key, randBytes(rng, ivLen), randBytes(rng, 150))
		for bit := range len(sealed) * 8 {
			in := append([]byte{}, sealed...)
			in[bit/8] ^= 1 << (bit % 8)
			var out bytes.Buffer
			n, err := Open(&out, bytes.NewReader(in), int64(len(in)), key, ivLen)
			if !errors.Is(err, ErrAuth) || n != 0 || out.Len() != 0 {
				t.Fatalf("iv %d, bit %d: Open: %v, %d bytes released", ivLen, bit, err, out.Len())
			}
			n, err = OpenStream(&out, bytes.NewReader(in), key, ivLen, Spool{})
			if !errors.Is(err, ErrAuth) || n != 0 || out.Len() != 0 {
				t.Fatalf("iv %d, bit %d: OpenStream: %v, %d bytes released", ivLen, bit, err, out.Len())
			}
		}
	}
}
