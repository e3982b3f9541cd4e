package xmlenc

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// countingKey counts private-key operations, to prove that refusals happen
// before any decryption.
type countingKey struct {
	crypto.Decrypter
	calls int
}

func (c *countingKey) Decrypt(r io.Reader, ct []byte, o crypto.DecrypterOpts) ([]byte, error) {
	c.calls++
	return c.Decrypter.Decrypt(r, ct, o)
}

// sample returns a valid EncryptedData for bob with an inline CipherValue.
func sample(t testing.TB, plain []byte) *etree.Element {
	t.Helper()
	e := &Encrypter{Recipients: []Recipient{{Cert: vectorParty(t, "alice_cipher_4096").cert}, {Cert: vectorParty(t, "bob_cipher_4096").cert}}, DeclareNamespaces: true}
	ed, err := e.EncryptBytes(plain)
	if err != nil {
		t.Fatal(err)
	}
	return reparse(t, ed)
}

// mutated returns a re-parsed copy of ed after f changed it.
func mutated(t testing.TB, ed *etree.Element, f func(ed *etree.Element)) *etree.Element {
	t.Helper()
	c := ed.Copy()
	f(c)
	return reparse(t, c)
}

func bobsKey(ed *etree.Element) *etree.Element {
	return ed.FindElements("KeyInfo/EncryptedKey")[1]
}

func setAlg(path, alg string) func(*etree.Element) {
	return func(ed *etree.Element) { ed.FindElement(path).CreateAttr("Algorithm", alg) }
}

// TestEncryptionOracleAlgorithmSubstitution: the attacker chooses the
// EncryptionMethod URI (backward-compatibility attacks, Jager, Paterson,
// Somorovsky 2013). Every weaker algorithm is refused before the private key
// is used and before a byte is released.
func TestEncryptionOracleAlgorithmSubstitution(t *testing.T) {
	ed := sample(t, []byte("<a>geheim</a>"))
	cases := []struct {
		name string
		f    func(*etree.Element)
	}{
		{"data aes256-cbc", setAlg("EncryptionMethod", AlgAES256CBC)},
		{"data aes128-cbc", setAlg("EncryptionMethod", AlgAES128CBC)},
		{"data aes192-cbc", setAlg("EncryptionMethod", AlgAES192CBC)},
		{"data tripledes-cbc", setAlg("EncryptionMethod", AlgTripleDESCBC)},
		{"data unknown uri", setAlg("EncryptionMethod", "urn:x-evil")},
		{"data algorithm missing", func(ed *etree.Element) { ed.FindElement("EncryptionMethod").RemoveAttr("Algorithm") }},
		{"key transport rsa-1_5", func(ed *etree.Element) { bobsKey(ed).FindElement("EncryptionMethod").CreateAttr("Algorithm", AlgRSA15) }},
		{"key transport rsa-1_5 on another recipient", func(ed *etree.Element) {
			ed.FindElement("KeyInfo/EncryptedKey/EncryptionMethod").CreateAttr("Algorithm", AlgRSA15)
		}},
		{"key transport rsa-oaep-mgf1p", func(ed *etree.Element) {
			bobsKey(ed).FindElement("EncryptionMethod").CreateAttr("Algorithm", AlgRSAOAEPMGF1P)
		}},
		{"oaep digest sha1", func(ed *etree.Element) {
			bobsKey(ed).FindElement("EncryptionMethod/DigestMethod").CreateAttr("Algorithm", "http://www.w3.org/2000/09/xmldsig#sha1")
		}},
		{"oaep mgf1sha1", func(ed *etree.Element) {
			bobsKey(ed).FindElement("EncryptionMethod/MGF").CreateAttr("Algorithm", "http://www.w3.org/2009/xmlenc11#mgf1sha1")
		}},
		{"oaep digest absent (SHA-1 default)", func(ed *etree.Element) {
			m := bobsKey(ed).FindElement("EncryptionMethod")
			m.RemoveChild(m.FindElement("DigestMethod"))
		}},
		{"oaep mgf absent (SHA-1 default)", func(ed *etree.Element) {
			m := bobsKey(ed).FindElement("EncryptionMethod")
			m.RemoveChild(m.FindElement("MGF"))
		}},
		{"oaep label", func(ed *etree.Element) {
			bobsKey(ed).FindElement("EncryptionMethod").CreateElement("xenc:OAEPparams").SetText("bGFiZWw=")
		}},
		{"cipher reference xpath transform", func(ed *etree.Element) {
			cd := ed.FindElement("CipherData")
			cd.RemoveChild(cd.FindElement("CipherValue"))
			cr := cd.CreateElement("xenc:CipherReference")
			cr.CreateAttr("URI", "cid:x")
			cr.CreateElement("xenc:Transforms").CreateElement("ds:Transform").CreateAttr("Algorithm", "http://www.w3.org/TR/1999/REC-xpath-19991116")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bob := vectorParty(t, "bob_cipher_4096")
			key := &countingKey{Decrypter: bob.key}
			d := &Decrypter{Key: key, Parts: memParts{parts: map[string][]byte{"x": make([]byte, 64)}}}
			var out countingWriter
			_, err := d.DecryptTo(&out, mutated(t, ed, c.f))
			if !errors.Is(err, ErrAlgorithmNotAllowed) {
				t.Fatalf("got %v, want ErrAlgorithmNotAllowed", err)
			}
			if key.calls != 0 || out.n != 0 {
				t.Fatalf("%d private-key operations, %d bytes released before the refusal", key.calls, out.n)
			}
		})
	}
}

// TestEncryptionOracleIdenticalErrors: every way decryption can fail
// returns the very same error value, so a receiver that reports errors
// reveals nothing about the key or the plaintext (Jager and Somorovsky, CCS
// 2011; Bleichenbacher via OAEP decoding failures).
func TestEncryptionOracleIdenticalErrors(t *testing.T) {
	bob := vectorParty(t, "bob_cipher_4096")
	ed := sample(t, bytes.Repeat([]byte("<a>geheim</a>"), 50))
	pub := bob.cert.PublicKey.(*rsa.PublicKey)
	wrapOAEP := func(key []byte) string {
		w, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, key, nil)
		if err != nil {
			t.Fatal(err)
		}
		return b64(w)
	}
	setText := func(path string, f func(string) string) func(*etree.Element) {
		return func(ed *etree.Element) {
			el := ed.FindElement(path)
			el.SetText(f(el.Text()))
		}
	}
	flipB64 := func(i int) func(string) string {
		return func(s string) string {
			b, _ := decodeBase64(s)
			if i < 0 {
				i += len(b)
			}
			b[i] ^= 1
			return b64(b)
		}
	}
	const bobCV = "KeyInfo/EncryptedKey[2]/CipherData/CipherValue"
	cases := []struct {
		name string
		d    *Decrypter
		f    func(*etree.Element)
	}{
		{"wrong recipient", vectorParty(t, "carol_cipher_4096").decrypter(), nil},
		{"recipient named by an external RetrievalMethod", bob.decrypter(), func(ed *etree.Element) {
			ki := bobsKey(ed).FindElement("KeyInfo")
			ki.RemoveChild(ki.FindElement("X509Data"))
			ki.CreateElement("ds:RetrievalMethod").CreateAttr("URI", "http://attacker.example/cert")
		}},
		{"wrapped key bit flipped (OAEP decoding fails)", bob.decrypter(), setText(bobCV, flipB64(10))},
		{"wrapped key not base64", bob.decrypter(), setText(bobCV, func(string) string { return "!!!" })},
		{"wrapped key empty", bob.decrypter(), setText(bobCV, func(string) string { return "" })},
		{"wrapped key of wrong length", bob.decrypter(), setText(bobCV, func(string) string { return wrapOAEP(make([]byte, 16)) })},
		{"wrapped key valid but different", bob.decrypter(), setText(bobCV, func(string) string { return wrapOAEP(make([]byte, 32)) })},
		{"iv flipped", bob.decrypter(), setText("CipherData/CipherValue", flipB64(0))},
		{"ciphertext flipped", bob.decrypter(), setText("CipherData/CipherValue", flipB64(20))},
		{"tag flipped", bob.decrypter(), setText("CipherData/CipherValue", flipB64(-1))},
		{"ciphertext truncated", bob.decrypter(), setText("CipherData/CipherValue", func(s string) string {
			b, _ := decodeBase64(s)
			return b64(b[:len(b)-1])
		})},
		{"ciphertext shorter than iv and tag", bob.decrypter(), setText("CipherData/CipherValue", func(string) string { return b64(make([]byte, 20)) })},
		{"ciphertext not base64", bob.decrypter(), setText("CipherData/CipherValue", func(s string) string { return s[:10] + "*" + s[11:] })},
		{"iv length claims 16", bob.decrypter(), func(ed *etree.Element) { ed.FindElement("EncryptionMethod/IvLength").CreateAttr("Value", "16") }},
		{"iv length element removed", bob.decrypter(), func(ed *etree.Element) {
			m := ed.FindElement("EncryptionMethod")
			m.RemoveChild(m.FindElement("IvLength"))
		}},
	}
	var first error
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := ed
			if c.f != nil {
				in = mutated(t, ed, c.f)
			}
			var out countingWriter
			n, err := c.d.DecryptTo(&out, in)
			if err != ErrDecrypt { // identity, not errors.Is: the value itself must not vary
				t.Fatalf("got %v, want the identical ErrDecrypt value", err)
			}
			if first == nil {
				first = err
			}
			if err.Error() != first.Error() || n != 0 || out.n != 0 {
				t.Fatalf("message %q, %d bytes released", err, out.n)
			}
		})
	}
}

// TestEncryptionOracleNoPlaintextOnTagFailure: a multi-chunk attachment
// whose last ciphertext byte or tag was changed releases nothing, whether
// the part is read twice in place or spooled.
func TestEncryptionOracleNoPlaintextOnTagFailure(t *testing.T) {
	bob := vectorParty(t, "bob_cipher_4096")
	var part bytes.Buffer
	e := &Encrypter{Recipients: []Recipient{{Cert: bob.cert}}, DeclareNamespaces: true}
	ed, _, err := e.EncryptStream(&part, strings.NewReader(strings.Repeat("Anlage ", 300000)), "att")
	if err != nil {
		t.Fatal(err)
	}
	ed = reparse(t, ed)
	for _, pos := range []int{12, part.Len() / 2, part.Len() - 17, part.Len() - 1} {
		for _, seekable := range []bool{true, false} {
			tampered := bytes.Clone(part.Bytes())
			tampered[pos] ^= 0x80
			d := bob.decrypter()
			d.SpoolDir = t.TempDir()
			d.Parts = memParts{parts: map[string][]byte{"att": tampered}, seekable: seekable}
			var out countingWriter
			if _, err := d.DecryptTo(&out, ed); err != ErrDecrypt || out.n != 0 {
				t.Fatalf("byte %d seekable %v: %v, %d bytes released", pos, seekable, err, out.n)
			}
		}
	}
}
