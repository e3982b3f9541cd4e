package xmlenc

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// party is one key pair of the OSCI reference library's sample PKI.
type party struct {
	cert *x509.Certificate
	key  crypto.Decrypter
}

// vectorParty loads a sample keystore of the reference library, e.g.
// "bob_cipher_4096".
func vectorParty(t testing.TB, name string) party {
	t.Helper()
	k, c, _ := certstest.ReferenceKey(t, name)
	return party{cert: c, key: k.(crypto.Decrypter)}
}

func (p party) decrypter() *Decrypter { return &Decrypter{Key: p.key} }

// reparse serializes el as the root of a new document and parses it back
// with the hardened parser, so tests decrypt what a peer would receive.
func reparse(t testing.TB, el *etree.Element) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	var b bytes.Buffer
	if _, err := doc.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return parseRoot(t, b.Bytes())
}

// declaredRoot returns a new document whose root element, tag, declares
// the soap, ds, xenc and osci prefixes.
func declaredRoot(tag string) (*etree.Document, *etree.Element) {
	doc := etree.NewDocument()
	root := doc.CreateElement(tag)
	root.CreateAttr("xmlns:soap", "http://schemas.xmlsoap.org/soap/envelope/")
	root.CreateAttr("xmlns:ds", NSDsig)
	root.CreateAttr("xmlns:xenc", NSXenc)
	root.CreateAttr("xmlns:osci", "http://www.osci.de/2002/04/osci")
	return doc, root
}

// parsedIn places ed under a new declaredRoot(tag) and returns that root
// as a peer parses it.
func parsedIn(t testing.TB, tag string, ed *etree.Element) *etree.Element {
	t.Helper()
	doc, root := declaredRoot(tag)
	root.AddChild(ed)
	wire, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return parseRoot(t, wire)
}

func parseRoot(t testing.TB, b []byte) *etree.Element {
	t.Helper()
	doc, err := xmlsec.ParseBytes(b, xmlsec.Limits{})
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, b)
	}
	return doc.Root()
}

// memParts serves cid: parts from memory; seekable selects whether the
// part is offered as io.ReaderAt (read twice) or as a plain stream
// (spooled).
type memParts struct {
	parts    map[string][]byte
	seekable bool
}

func (m memParts) OpenPart(id string) (io.ReadCloser, error) {
	b, ok := m.parts[id]
	if !ok {
		return nil, errors.New("no such part")
	}
	if m.seekable {
		return readerAtCloser{bytes.NewReader(b)}, nil
	}
	return io.NopCloser(struct{ io.Reader }{bytes.NewReader(b)}), nil
}

type readerAtCloser struct{ *bytes.Reader }

func (readerAtCloser) Close() error { return nil }

// countingWriter records how many plaintext bytes were released.
type countingWriter struct{ n int }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += len(p)
	return len(p), nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// mustUnwrap returns the data key of ed for p (test-only inspection).
func mustUnwrap(t testing.TB, p party, ed *etree.Element) []byte {
	t.Helper()
	data, err := parseEncryptedData(reparse(t, ed), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	key, err := p.decrypter().dataKey(data)
	if err != nil {
		t.Fatal(err)
	}
	return key
}
