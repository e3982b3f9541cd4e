package xmlenc

import (
	"bytes"
	"errors"
	"testing"

	"github.com/beevik/etree"
)

// TestOversizeCipherValue: limits are checked before decoding or decrypting
// (inline CipherValue, recipients) and while streaming (parts, in-memory
// plaintext).
func TestOversizeCipherValue(t *testing.T) {
	bob := vectorParty(t, "bob_cipher_4096")
	plain := bytes.Repeat([]byte("x"), 4000)
	ed := sample(t, plain)
	var part bytes.Buffer
	refED, _, err := (&Encrypter{Recipients: []Recipient{{Cert: bob.cert}}, DeclareNamespaces: true}).EncryptStream(&part, bytes.NewReader(plain), "a")
	if err != nil {
		t.Fatal(err)
	}
	refED = reparse(t, refED)
	manyKeys := mutated(t, ed, func(ed *etree.Element) {
		ki := ed.FindElement("KeyInfo")
		for range 70 {
			ki.AddChild(ki.FindElement("EncryptedKey").Copy())
		}
	})
	cases := []struct {
		name     string
		ed       *etree.Element
		lim      Limits
		seekable bool
		inMemory bool
	}{
		{"inline CipherValue beyond MaxInlineBytes", ed, Limits{MaxInlineBytes: 1000}, false, false},
		{"more EncryptedKeys than MaxEncryptedKeys", manyKeys, Limits{}, false, false},
		{"spooled part beyond MaxPartBytes", refED, Limits{MaxPartBytes: 3000}, false, false},
		{"seekable part beyond MaxPartBytes", refED, Limits{MaxPartBytes: 3000}, true, false},
		{"in-memory plaintext beyond MaxInlineBytes", refED, Limits{MaxInlineBytes: 3000}, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := &countingKey{Decrypter: bob.key}
			d := &Decrypter{Key: key, Limits: c.lim, SpoolDir: t.TempDir(),
				Parts: memParts{parts: map[string][]byte{"a": part.Bytes()}, seekable: c.seekable}}
			var err error
			var out countingWriter
			if c.inMemory {
				_, err = d.DecryptBytes(c.ed)
			} else {
				_, err = d.DecryptTo(&out, c.ed)
			}
			if !errors.Is(err, ErrLimit) || out.n != 0 {
				t.Fatalf("got %v (%d bytes), want ErrLimit", err, out.n)
			}
		})
	}
}
