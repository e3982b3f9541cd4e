package xmlenc

import (
	"errors"
	"testing"

	"github.com/beevik/etree"
)

// TestStructureAmbiguity: ambiguous or incomplete structures are refused
// before decryption with ErrMalformed.
func TestStructureAmbiguity(t *testing.T) {
	bob := vectorParty(t, "bob_cipher_4096")
	ed := sample(t, []byte("<a/>"))
	cases := []struct {
		name string
		f    func(*etree.Element)
	}{
		{"not EncryptedData", func(ed *etree.Element) { ed.Tag = "EncryptedKey" }},
		{"two CipherData", func(ed *etree.Element) { ed.AddChild(ed.FindElement("CipherData").Copy()) }},
		{"two EncryptionMethods", func(ed *etree.Element) { ed.InsertChildAt(0, ed.FindElement("EncryptionMethod").Copy()) }},
		{"no CipherData", func(ed *etree.Element) { ed.RemoveChild(ed.FindElement("CipherData")) }},
		{"CipherValue and CipherReference", func(ed *etree.Element) {
			ed.FindElement("CipherData").CreateElement("xenc:CipherReference").CreateAttr("URI", "cid:a")
		}},
		{"CipherReference to http", func(ed *etree.Element) {
			cd := ed.FindElement("CipherData")
			cd.RemoveChild(cd.FindElement("CipherValue"))
			cd.CreateElement("xenc:CipherReference").CreateAttr("URI", "http://attacker.example/ct")
		}},
		{"unknown child in EncryptionMethod", func(ed *etree.Element) {
			ed.FindElement("EncryptionMethod").CreateElement("xenc:KeySize").SetText("256")
		}},
		{"foreign element in EncryptedData", func(ed *etree.Element) { ed.CreateElement("ds:Object") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := bob.decrypter().DecryptTo(&countingWriter{}, mutated(t, ed, c.f))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}
