package xmlenc

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

// splitMIME is a test-only reader of the OSCI MIME framing: the entity
// headers at the start of the body, then Multipart/Related parts. It
// returns the parts by Content-ID (angle brackets removed).
func splitMIME(t testing.TB, raw []byte) map[string][]byte {
	t.Helper()
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw)))
	h, err := tp.ReadMIMEHeader()
	if err != nil {
		t.Fatal(err)
	}
	if h.Get("Mime-Version") != "1.0" {
		t.Fatalf("MIME-Version %q", h.Get("Mime-Version"))
	}
	// OSCI boundaries hold base64 characters ('/', '=') unquoted, which
	// mime.ParseMediaType rejects, so the parameter is cut out by hand.
	ct := h.Get("Content-Type")
	m := boundaryParam.FindStringSubmatch(ct)
	if !strings.HasPrefix(strings.ToLower(ct), "multipart/related") || m == nil {
		t.Fatalf("content type %q", ct)
	}
	mr := multipart.NewReader(tp.R, strings.Trim(m[1], `"`))
	parts := map[string][]byte{}
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return parts
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		parts[strings.Trim(p.Header.Get("Content-Id"), "<>")] = b
	}
}

// TestOSCIReferenceTransportEncrypted decrypts every transport-encrypted
// request written by the OSCI reference library (Java, 2.4.1) with the
// intermediary's cipher key, streaming the cid:osci_enc part.
func TestOSCIReferenceTransportEncrypted(t *testing.T) {
	dir := filepath.Join(certstest.SharedDir(t), "vectors", "osci-java", "requests-encrypted")
	files, err := filepath.Glob(filepath.Join(dir, "*.mime"))
	if err != nil || len(files) < 3 {
		t.Fatalf("vectors: %v %v", files, err)
	}
	manager := vectorParty(t, "osci_manager_cipher_4096")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			parts := splitMIME(t, raw)
			env := parseRoot(t, parts["osci@message"])
			ed := env.FindElement("Body/EncryptedData")
			if ed == nil || ed.SelectAttrValue("MimeType", "") != "Multipart/Related" {
				t.Fatal("no soapMessageEncrypted EncryptedData")
			}
			for _, seekable := range []bool{true, false} {
				d := manager.decrypter()
				d.Parts = memParts{parts: parts, seekable: seekable}
				d.SpoolDir = t.TempDir()
				var inner bytes.Buffer
				if _, err := d.DecryptTo(&inner, ed); err != nil {
					t.Fatalf("decrypt (seekable %v): %v", seekable, err)
				}
				if !bytes.HasPrefix(inner.Bytes(), []byte("MIME-Version:")) {
					t.Fatalf("plaintext starts %q", inner.Bytes()[:min(40, inner.Len())])
				}
				checkInnerMessage(t, filepath.Base(f), inner.Bytes())
			}
			// The same message must be refused to anybody else.
			d := vectorParty(t, "bob_cipher_4096").decrypter()
			d.Parts = memParts{parts: parts, seekable: true}
			if n, err := d.DecryptTo(io.Discard, ed); !errors.Is(err, ErrDecrypt) || n != 0 {
				t.Fatalf("wrong recipient: %d bytes, %v", n, err)
			}
		})
	}
}

// checkInnerMessage parses the decrypted OSCI message, checks that it is a
// signed OSCI request (SOAP envelope, ControlBlock, ClientSignature that
// references the Body) and verifies that signature with osci/xmlsec.
func checkInnerMessage(t *testing.T, file string, inner []byte) {
	t.Helper()
	parts := splitMIME(t, inner)
	env := parseRoot(t, parts["osci@message"])
	if env.Tag != "Envelope" || env.NamespaceURI() != "http://schemas.xmlsoap.org/soap/envelope/" {
		t.Fatalf("root %s", env.Tag)
	}
	for _, path := range []string{"Header/ControlBlock", "Header/ClientSignature/Signature/SignedInfo/Reference", "Body"} {
		if env.FindElement(path) == nil {
			t.Fatalf("decrypted message has no %s", path)
		}
	}
	refs := env.FindElements("Header/ClientSignature/Signature/SignedInfo/Reference")
	bodyID := env.FindElement("Body").SelectAttrValue("Id", "")
	var coversBody bool
	for _, r := range refs {
		coversBody = coversBody || r.SelectAttrValue("URI", "") == "#"+bodyID
	}
	if !coversBody {
		t.Fatal("ClientSignature does not reference the Body")
	}
	verifyInner(t, file, parts["osci@message"], parts)
}

var boundaryParam = regexp.MustCompile(`(?i)boundary=("[^"]+"|[^;\s]+)`)

// TestOSCIReferenceContentLayer decrypts the end-to-end layer of the
// reference library's storeDelivery: the ContentContainer encrypted to bob
// (EncryptedKey naming him by RetrievalMethod to reader0_cipher_…), and in
// it the attachment keys carried in ds:MgmtData with CipherReferences to
// the message's cid: parts.
func TestOSCIReferenceContentLayer(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(certstest.SharedDir(t), "vectors", "osci-java", "requests-encrypted", "storeDelivery.mime"))
	if err != nil {
		t.Fatal(err)
	}
	outer := splitMIME(t, raw)
	d := vectorParty(t, "osci_manager_cipher_4096").decrypter()
	d.Parts = memParts{parts: outer, seekable: true}
	var inner bytes.Buffer
	if _, err := d.DecryptTo(&inner, parseRoot(t, outer["osci@message"]).FindElement("Body/EncryptedData")); err != nil {
		t.Fatal(err)
	}
	parts := splitMIME(t, inner.Bytes())
	env := parseRoot(t, parts["osci@message"])
	eds := env.FindElements("Body//EncryptedData")
	if len(eds) == 0 {
		t.Fatal("no content-layer EncryptedData")
	}
	alice := vectorParty(t, "alice_cipher_4096").decrypter()
	if _, err := alice.DecryptTo(io.Discard, eds[0]); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("originator is no reader, got %v", err)
	}
	bob := vectorParty(t, "bob_cipher_4096").decrypter()
	attachments := 0
	for _, ed := range eds {
		var plain bytes.Buffer
		if _, err := bob.DecryptTo(&plain, ed); err != nil {
			t.Fatalf("%s: %v", ed.SelectAttrValue("Id", ""), err)
		}
		container := parseRoot(t, plain.Bytes())
		if container.Tag != "ContentContainer" {
			t.Fatalf("plaintext root %s", container.Tag)
		}
		for _, aed := range container.FindElements("//EncryptedData") {
			if aed.FindElement("KeyInfo/MgmtData") == nil {
				continue
			}
			// A MgmtData key is refused unless the caller allows it.
			if _, err := bob.DecryptTo(io.Discard, aed); !errors.Is(err, ErrKeyNotAllowed) {
				t.Fatalf("MgmtData without permission: %v", err)
			}
			ad := &Decrypter{AllowMgmtData: true, Parts: memParts{parts: parts}, SpoolDir: t.TempDir()}
			var att bytes.Buffer
			if _, err := ad.DecryptTo(&att, aed); err != nil {
				t.Fatalf("attachment %s: %v", aed.SelectAttrValue("Id", ""), err)
			}
			// The reference library's sample sends this text as secret.txt.
			if att.String() != "encrypted attachment bytes" {
				t.Fatalf("attachment %s: %q", aed.SelectAttrValue("Id", ""), att.Bytes())
			}
			attachments++
		}
	}
	if attachments == 0 {
		t.Fatal("no MgmtData attachment found in the decrypted container")
	}
}
