package xmlenc

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc/gcmstream"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

func TestMultipleRecipients(t *testing.T) {
	alice, bob, carol, dave := vectorParty(t, "alice_cipher_4096"), vectorParty(t, "bob_cipher_4096"), vectorParty(t, "carol_cipher_4096"), vectorParty(t, "dave_cipher_4096")
	plain := []byte("<osci:ContentContainer xmlns:osci=\"http://www.osci.de/2002/04/osci\" Id=\"c\">Geheim äöü</osci:ContentContainer>")
	e := &Encrypter{Recipients: []Recipient{{Cert: alice.cert}, {Cert: bob.cert}, {Cert: carol.cert}}, MimeType: "text/xml", DeclareNamespaces: true}
	ed, err := e.EncryptBytes(plain)
	if err != nil {
		t.Fatal(err)
	}
	ed = reparse(t, ed)
	for _, c := range []struct {
		name string
		p    party
		want error
	}{
		{"first recipient", alice, nil},
		{"middle recipient", bob, nil},
		{"last recipient", carol, nil},
		{"not a recipient", dave, ErrDecrypt},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.p.decrypter().DecryptBytes(ed)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if c.want == nil && !bytes.Equal(got, plain) {
				t.Fatalf("plaintext %q", got)
			}
		})
	}
}

// TestRetrievalMethodRecipient writes EncryptedKeys that name reader
// certificates by RetrievalMethod, as OSCI's content layer does, with the
// certificates elsewhere in the document.
func TestRetrievalMethodRecipient(t *testing.T) {
	alice, bob := vectorParty(t, "alice_cipher_4096"), vectorParty(t, "bob_cipher_4096")
	e := &Encrypter{Recipients: []Recipient{{Cert: alice.cert, RetrievalURI: "#reader0_cipher_a"}, {Cert: bob.cert, RetrievalURI: "#addressee_cipher_b"}}}
	ed, err := e.EncryptBytes([]byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	doc, root := declaredRoot("soap:Envelope")
	certsEl := root.CreateElement("soap:Header").CreateElement("osci:NonIntermediaryCertificates")
	for id, p := range map[string]party{"reader0_cipher_a": alice, "addressee_cipher_b": bob} {
		c := certsEl.CreateElement("osci:CipherCertificateOtherReader")
		c.CreateAttr("Id", id)
		c.CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").SetText(xmlsec.EncodeBase64(p.cert.Raw))
	}
	root.CreateElement("soap:Body").AddChild(ed)
	var b bytes.Buffer
	doc.WriteTo(&b)
	parsed := parseRoot(t, b.Bytes())
	ped := parsed.FindElement("//EncryptedData")
	for _, p := range []party{alice, bob} {
		got, err := p.decrypter().DecryptBytes(ped)
		if err != nil || string(got) != "payload" {
			t.Fatalf("%s: %q %v", p.cert.Subject.CommonName, got, err)
		}
	}
	if _, err := vectorParty(t, "carol_cipher_4096").decrypter().DecryptBytes(ped); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("carol: %v", err)
	}
}

func TestCipherReferenceStream(t *testing.T) {
	bob := vectorParty(t, "bob_cipher_4096")
	plain := bytes.Repeat([]byte("Klageschrift 0123456789 "), 100000) // 2.4 MB
	for _, mgmt := range []bool{false, true} {
		for _, seekable := range []bool{false, true} {
			var part bytes.Buffer
			e := &Encrypter{Recipients: []Recipient{{Cert: bob.cert}}, MgmtData: mgmt, Id: "Attachmentklage.pdf", MimeType: "application/octet-stream", DeclareNamespaces: true}
			ed, n, err := e.EncryptStream(&part, bytes.NewReader(plain), "klage.pdf")
			if err != nil || n != int64(part.Len()) || n != int64(len(plain)+12+16) {
				t.Fatalf("EncryptStream: n %d part %d err %v", n, part.Len(), err)
			}
			ed = reparse(t, ed)
			d := bob.decrypter()
			d.AllowMgmtData = mgmt
			d.SpoolDir = t.TempDir()
			d.Parts = memParts{parts: map[string][]byte{"klage.pdf": part.Bytes()}, seekable: seekable}
			var out bytes.Buffer
			if _, err := d.DecryptTo(&out, ed); err != nil || !bytes.Equal(out.Bytes(), plain) {
				t.Fatalf("mgmt %v seekable %v: %v", mgmt, seekable, err)
			}
		}
	}
}

func TestMissingPart(t *testing.T) {
	bob := vectorParty(t, "bob_cipher_4096")
	e := &Encrypter{Recipients: []Recipient{{Cert: bob.cert}}, DeclareNamespaces: true}
	ed, _, err := e.EncryptStream(&bytes.Buffer{}, strings.NewReader("x"), "a")
	if err != nil {
		t.Fatal(err)
	}
	d := bob.decrypter()
	if _, err := d.DecryptTo(&bytes.Buffer{}, reparse(t, ed)); !errors.Is(err, ErrPart) {
		t.Fatalf("no resolver: %v", err)
	}
	d.Parts = memParts{}
	if _, err := d.DecryptTo(&bytes.Buffer{}, reparse(t, ed)); !errors.Is(err, ErrPart) {
		t.Fatalf("unknown part: %v", err)
	}
}

func TestElementRoundTrip(t *testing.T) {
	bob := vectorParty(t, "bob_cipher_4096")
	src := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" xmlns:osci="http://www.osci.de/2002/04/osci"><soap:Body><osci:Content Id="x" xmlns:p="urn:p"><p:a b="1">Text &amp; mehr</p:a></osci:Content></soap:Body></soap:Envelope>`
	root := parseRoot(t, []byte(src))
	content := root.FindElement("//Content")
	if _, err := (&Encrypter{Recipients: []Recipient{{Cert: bob.cert}}, Id: "enc1"}).EncryptElement(content); err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	doc.SetRoot(root)
	wire, _ := doc.WriteToString()
	if strings.Contains(wire, "Text &amp; mehr") {
		t.Fatal("plaintext left in the document")
	}
	parsed := parseRoot(t, []byte(wire))
	if err := bob.decrypter().DecryptElement(parsed.FindElement("//EncryptedData")); err != nil {
		t.Fatal(err)
	}
	got := parsed.FindElement("//Content")
	if got == nil || got.FindElement("a").Text() != "Text & mehr" || got.FindElement("a").NamespaceURI() != "urn:p" || got.NamespaceURI() != "http://www.osci.de/2002/04/osci" {
		t.Fatalf("decrypted element not restored: %v", got)
	}
}

// TestLegacyIV16 decrypts what OSCI libraries before 2.0 wrote: a 16-byte
// IV and no IvLength element; and refuses IvLength values other than 12/16.
func TestLegacyIV16(t *testing.T) {
	bob := vectorParty(t, "bob_cipher_4096")
	e := &Encrypter{Recipients: []Recipient{{Cert: bob.cert}}, DeclareNamespaces: true}
	ed, err := e.EncryptBytes(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Replace the ciphertext by one with a 16-byte IV under the same key.
	key := mustUnwrap(t, bob, ed)
	iv := bytes.Repeat([]byte{7}, 16)
	sealed, _ := gcmstream.Seal(key, iv, []byte("alt"))
	ed.FindElement("CipherData/CipherValue").SetText(b64(sealed))

	cases := []struct {
		name  string
		value string // "" removes IvLength
		want  error
	}{
		{"absent means 16", "", nil},
		{"16 stated", "16", nil},
		{"12 stated for a 16-byte IV", "12", ErrDecrypt},
		{"unknown length", "8", ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := ed.Copy()
			l := x.FindElement("EncryptionMethod/IvLength")
			if c.value == "" {
				l.Parent().RemoveChild(l)
			} else {
				l.CreateAttr("Value", c.value)
			}
			got, err := bob.decrypter().DecryptBytes(reparse(t, x))
			if !errors.Is(err, c.want) || (c.want == nil && string(got) != "alt") {
				t.Fatalf("got %q, %v; want %v", got, err, c.want)
			}
		})
	}
}

func TestEncryptRefusesRecipients(t *testing.T) {
	cases := []struct {
		name string
		e    Encrypter
	}{
		{"no recipients", Encrypter{}},
		{"nil certificate", Encrypter{Recipients: []Recipient{{}}}},
		{"key below minimum", Encrypter{Recipients: []Recipient{{Cert: vectorParty(t, "bob_cipher_4096").cert}}, MinRSABits: 8192}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := c.e.EncryptBytes([]byte("x")); !errors.Is(err, ErrRecipient) {
				t.Fatalf("got %v", err)
			}
		})
	}
}

// TestContentRoundTrip encrypts the content of an element (Type Content:
// text and several elements) and restores it in place.
func TestContentRoundTrip(t *testing.T) {
	bob := vectorParty(t, "bob_cipher_4096")
	plain := []byte(`Vorwort <osci:a>eins</osci:a><osci:b x="2"/> Nachwort`)
	ed, err := (&Encrypter{Recipients: []Recipient{{Cert: bob.cert}}, Type: TypeContent}).EncryptBytes(plain)
	if err != nil {
		t.Fatal(err)
	}
	parsed := parsedIn(t, "osci:Content", ed)
	if err := bob.decrypter().DecryptElement(parsed.FindElement("EncryptedData")); err != nil {
		t.Fatal(err)
	}
	if len(parsed.ChildElements()) != 2 || parsed.FindElement("a").Text() != "eins" || !strings.HasPrefix(parsed.Text(), "Vorwort ") {
		d := etree.NewDocument()
		d.SetRoot(parsed)
		s, _ := d.WriteToString()
		t.Fatalf("content not restored: %s", s)
	}
}

// TestDecryptElementBadPlaintext: an authentic plaintext that is not what
// Type announces fails with the same ErrDecrypt as any other failure, and
// the document is left unchanged.
func TestDecryptElementBadPlaintext(t *testing.T) {
	bob := vectorParty(t, "bob_cipher_4096")
	cases := []struct {
		name, typ, plain string
		want             error
	}{
		{"not XML", TypeElement, "<a>", ErrDecrypt},
		{"two elements for Type Element", TypeElement, "<a/><b/>", ErrDecrypt},
		{"text for Type Element", TypeElement, "nur Text", ErrDecrypt},
		{"doctype", TypeContent, "<!DOCTYPE a><a/>", ErrDecrypt},
		{"undeclared prefix", TypeElement, "<p:a/>", ErrDecrypt},
		{"no Type", "", "<a/>", ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ed, err := (&Encrypter{Recipients: []Recipient{{Cert: bob.cert}}, Type: c.typ}).EncryptBytes([]byte(c.plain))
			if err != nil {
				t.Fatal(err)
			}
			parsed := parsedIn(t, "r", ed)
			err = bob.decrypter().DecryptElement(parsed.FindElement("EncryptedData"))
			if c.want == ErrDecrypt && err != ErrDecrypt || !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if parsed.FindElement("EncryptedData") == nil {
				t.Fatal("document changed on failure")
			}
		})
	}
}
