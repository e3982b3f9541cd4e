package xmlsec

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

// testNow lies inside the validity of the committed test certificates.
var testNow = time.Date(2027, 6, 1, 12, 0, 0, 0, time.UTC)

func loadKeyPair(t testing.TB, name string) *certs.KeyPair {
	t.Helper()
	dir := filepath.Join("testdata", "keys")
	kp, err := certs.LoadPEMData(certstest.ReadFile(t, filepath.Join(dir, name+".key")), certstest.ReadFile(t, filepath.Join(dir, name+".crt")))
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// pinned trusts exactly the given certificates, as an operator's pin list.
func pinned(cs ...*x509.Certificate) KeySelector {
	ts := certs.NewTrustStore()
	for _, c := range cs {
		ts.Pin(c)
	}
	return ValidatorSelector{V: &certs.Validator{Trust: ts, Now: func() time.Time { return testNow }}}
}

// osciMessage is a small OSCI-like request: five namespaces on the
// envelope, a ControlBlock, a signature holder, a certificate header and a
// Body, as the OSCI library lays them out.
func osciMessage(cert *x509.Certificate) string {
	certB64 := ""
	if cert != nil {
		certB64 = base64.StdEncoding.EncodeToString(cert.Raw)
	}
	return `<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:osci="http://www.osci.de/2002/04/osci" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
		`<soap:Header>` +
		`<osci:ControlBlock Id="controlblock" SequenceNumber="0" soap:actor="http://schemas.xmlsoap.org/soap/actor/next" soap:mustUnderstand="1"><osci:Challenge>QAwFGN/abmSPsQ==</osci:Challenge></osci:ControlBlock>` +
		`<osci:ClientSignature Id="clientsignature" soap:actor="http://schemas.xmlsoap.org/soap/actor/next" soap:mustUnderstand="1"></osci:ClientSignature>` +
		`<osci:NonIntermediaryCertificates Id="nonintermediarycertificates"><osci:SignatureCertificateOriginator Id="originator_signature_1"><ds:X509Data><ds:X509Certificate>` + certB64 + `</ds:X509Certificate></ds:X509Data></osci:SignatureCertificateOriginator></osci:NonIntermediaryCertificates>` +
		`</soap:Header>` +
		`<soap:Body Id="body"><osci:Content xmlns:p="urn:payload" p:b="2" a="1">Hallo Welt &amp; Co. äöü</osci:Content></soap:Body>` +
		`</soap:Envelope>`
}

func mustParse(t testing.TB, s string) *etree.Document {
	t.Helper()
	doc, err := ParseBytes([]byte(s), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func serialize(t testing.TB, doc *etree.Document) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Serialize(&b, doc); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// signatures returns every ds:Signature of doc, in document order.
func signatures(doc *etree.Document) []*etree.Element {
	var found []*etree.Element
	var walk func(*etree.Element)
	walk = func(el *etree.Element) {
		if isDSig(el, "Signature") {
			found = append(found, el)
		}
		for _, c := range el.ChildElements() {
			walk(c)
		}
	}
	walk(doc.Root())
	return found
}

// findSignature returns the only ds:Signature of doc.
func findSignature(t testing.TB, doc *etree.Document) *etree.Element {
	t.Helper()
	found := signatures(doc)
	if len(found) != 1 {
		t.Fatalf("%d signatures in document", len(found))
	}
	return found[0]
}

func attachments(parts map[string]string) AttachmentResolver {
	return func(cid string) (io.ReadCloser, error) {
		s, ok := parts[cid]
		if !ok {
			return nil, io.ErrUnexpectedEOF
		}
		return io.NopCloser(strings.NewReader(s)), nil
	}
}

// signedMessage returns a serialized osciMessage signed by "signer" over
// the given references.
func signedMessage(t testing.TB, refs []string, o SignOptions) []byte {
	t.Helper()
	kp := loadKeyPair(t, "signer")
	doc := mustParse(t, osciMessage(kp.Cert))
	o.Key, o.Certificate = kp.Key, kp.Cert
	if o.Attachments == nil {
		o.Attachments = attachments(map[string]string{"att1": "attachment octets\r\n"})
	}
	into := doc.Root().FindElement("./soap:Header/osci:ClientSignature")
	if _, err := Sign(doc, into, refs, o); err != nil {
		t.Fatal(err)
	}
	return serialize(t, doc)
}

func verifyBytes(t testing.TB, msg []byte, p VerifyPolicy) (*Verified, error) {
	t.Helper()
	doc, err := ParseBytes(msg, DefaultLimits())
	if err != nil {
		return nil, err
	}
	return Verify(context.Background(), doc, findSignature(t, doc), p)
}

// verifiedBody verifies msg under signerPolicy, which must succeed, and
// returns the #body reference and the element Verified holds for it.
func verifiedBody(t testing.TB, msg []byte) (*VerifiedReference, *etree.Element) {
	t.Helper()
	v, err := verifyBytes(t, msg, signerPolicy(t))
	if err != nil {
		t.Fatal(err)
	}
	body, ok := v.Reference("#body")
	if !ok {
		t.Fatal("no #body reference")
	}
	el, err := body.Element()
	if err != nil {
		t.Fatal(err)
	}
	return body, el
}

func signerPolicy(t testing.TB) VerifyPolicy {
	return VerifyPolicy{
		Keys:        pinned(loadKeyPair(t, "signer").Cert),
		Attachments: attachments(map[string]string{"att1": "attachment octets\r\n"}),
	}
}
