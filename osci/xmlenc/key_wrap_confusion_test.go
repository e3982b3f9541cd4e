package xmlenc

import (
	"bytes"
	"errors"
	"testing"

	"github.com/beevik/etree"
)

// TestKeyWrapConfusion: an EncryptedKey must be RSA-OAEP key transport; a
// block cipher or key wrap named there, a raw key in MgmtData where the
// caller did not allow one, or key material in two places is refused.
func TestKeyWrapConfusion(t *testing.T) {
	bob := vectorParty(t, "bob_cipher_4096")
	ed := sample(t, []byte("<a/>"))
	var part bytes.Buffer
	mgmtED, _, err := (&Encrypter{MgmtData: true, DeclareNamespaces: true}).EncryptStream(&part, bytes.NewReader([]byte("anlage")), "a")
	if err != nil {
		t.Fatal(err)
	}
	mgmtED = reparse(t, mgmtED)
	keyAlg := func(alg string) func(*etree.Element) {
		return func(ed *etree.Element) { bobsKey(ed).FindElement("EncryptionMethod").CreateAttr("Algorithm", alg) }
	}
	cases := []struct {
		name  string
		ed    *etree.Element
		f     func(*etree.Element)
		allow bool
		want  error
	}{
		{"EncryptedKey names aes256-gcm", ed, keyAlg(AlgAES256GCM), false, ErrAlgorithmNotAllowed},
		{"EncryptedKey names aes256-cbc", ed, keyAlg(AlgAES256CBC), false, ErrAlgorithmNotAllowed},
		{"EncryptedKey names kw-aes256", ed, keyAlg(AlgKWAES256), false, ErrAlgorithmNotAllowed},
		{"EncryptedData names rsa-oaep", ed, setAlg("EncryptionMethod", AlgRSAOAEP), false, ErrAlgorithmNotAllowed},
		{"MgmtData on the wire", mgmtED, nil, false, ErrKeyNotAllowed},
		{"MgmtData allowed", mgmtED, nil, true, nil},
		{"MgmtData key of wrong length", mgmtED, func(ed *etree.Element) { ed.FindElement("KeyInfo/MgmtData").SetText(b64(make([]byte, 16))) }, true, ErrDecrypt},
		{"MgmtData key not base64", mgmtED, func(ed *etree.Element) { ed.FindElement("KeyInfo/MgmtData").SetText("%%") }, true, ErrDecrypt},
		{"MgmtData beside EncryptedKey", ed, func(ed *etree.Element) {
			ed.FindElement("KeyInfo").CreateElement("ds:MgmtData").SetText(b64(make([]byte, 32)))
		}, true, ErrMalformed},
		{"two MgmtData", mgmtED, func(ed *etree.Element) {
			ed.FindElement("KeyInfo").CreateElement("ds:MgmtData").SetText(b64(make([]byte, 32)))
		}, true, ErrMalformed},
		{"EncryptedKey with CipherReference", ed, func(ed *etree.Element) {
			cd := bobsKey(ed).FindElement("CipherData")
			cd.RemoveChild(cd.FindElement("CipherValue"))
			cd.CreateElement("xenc:CipherReference").CreateAttr("URI", "cid:a")
		}, false, ErrMalformed},
		{"KeyInfo without a key", ed, func(ed *etree.Element) {
			ki := ed.FindElement("KeyInfo")
			for _, c := range ki.ChildElements() {
				ki.RemoveChild(c)
			}
		}, false, ErrMalformed},
		{"KeyName instead of a key", ed, func(ed *etree.Element) { ed.FindElement("KeyInfo").CreateElement("ds:KeyName").SetText("bob") }, false, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.ed
			if c.f != nil {
				in = mutated(t, c.ed, c.f)
			}
			d := bob.decrypter()
			d.AllowMgmtData = c.allow
			d.Parts = memParts{parts: map[string][]byte{"a": part.Bytes()}}
			var out countingWriter
			_, err := d.DecryptTo(&out, in)
			if !errors.Is(err, c.want) || (c.want != nil && out.n != 0) {
				t.Fatalf("got %v (%d bytes), want %v", err, out.n, c.want)
			}
		})
	}
}
