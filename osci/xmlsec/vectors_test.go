package xmlsec

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"mime/multipart"
	"net/textproto"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

// readOSCIMIME splits a stored OSCI message (MIME headers inside the body)
// into the SOAP part and the attachments by Content-ID. Test-only reader;
// the osci package owns the real codec.
func readOSCIMIME(t *testing.T, path string) ([]byte, map[string][]byte) {
	t.Helper()
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(certstest.ReadFile(t, path))))
	h, err := r.ReadMIMEHeader()
	if err != nil {
		t.Fatal(err)
	}
	// OSCI writes "type=text/xml" unquoted, which mime.ParseMediaType
	// refuses, so the boundary is taken by hand.
	m := boundaryParam.FindStringSubmatch(h.Get("Content-Type"))
	if m == nil {
		t.Fatalf("no boundary in %q", h.Get("Content-Type"))
	}
	mr := multipart.NewReader(r.R, m[1])
	var soap []byte
	parts := map[string][]byte{}
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		id := strings.TrimSuffix(strings.TrimPrefix(p.Header.Get("Content-ID"), "<"), ">")
		if id == "osci@message" {
			soap = body
		} else {
			parts[id] = body
		}
	}
	return soap, parts
}

var boundaryParam = regexp.MustCompile(`(?i)boundary="?([^";\s]+)`)

func partResolver(parts map[string][]byte) AttachmentResolver {
	return func(cid string) (io.ReadCloser, error) {
		b, ok := parts[cid]
		if !ok {
			return nil, errors.New("no such part")
		}
		return io.NopCloser(bytes.NewReader(b)), nil
	}
}

func loadDERCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(certstest.ReadFile(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func signatureAt(t *testing.T, doc *etree.Document, path string) *etree.Element {
	t.Helper()
	sig := doc.Root().FindElement(path)
	if sig == nil {
		t.Fatalf("no %s", path)
	}
	return sig
}

// TestVectorsOSCIJava verifies the ClientSignature (and the content
// signature of the plain container) written by the OSCI reference library.
func TestVectorsOSCIJava(t *testing.T) {
	dir := filepath.Join(certstest.SharedDir(t), "vectors", "osci-java")
	alice := loadDERCert(t, filepath.Join(dir, "certs", "alice_signature_4096.cer"))
	bob := loadDERCert(t, filepath.Join(dir, "certs", "bob_signature_4096.cer"))
	tests := []struct {
		file, sigPath string
		signer        *x509.Certificate
		refs          int
	}{
		{"getMessageId.mime", "./soap:Header/osci:ClientSignature/ds:Signature", alice, 5},
		{"initDialog.mime", "./soap:Header/osci:ClientSignature/ds:Signature", bob, 5},
		{"storeDelivery.mime", "./soap:Header/osci:ClientSignature/ds:Signature", alice, 10},
		{"storeDelivery.mime", ".//osci:ContentContainer/ds:Signature", alice, 3},
	}
	for _, tc := range tests {
		t.Run(tc.file+tc.sigPath, func(t *testing.T) {
			soap, parts := readOSCIMIME(t, filepath.Join(dir, "requests-plain", tc.file))
			doc, err := ParseBytes(soap, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			v, err := Verify(context.Background(), doc, signatureAt(t, doc, tc.sigPath), VerifyPolicy{
				Keys: pinned(tc.signer), Attachments: partResolver(parts),
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(v.References) != tc.refs || !v.Signer.Equal(tc.signer) {
				t.Fatalf("verified %d references by %s", len(v.References), v.Signer.Subject)
			}
		})
	}
}

// TestVectorsEGVP checks the Governikus SupplierSignature of the stored
// EGVP messages: SignedInfo verifies; the parts the receiver rewrote after
// signing fail with ErrDigestMismatch (the dropped FeatureDescription with
// ErrUnresolvedReference), the untouched ones match.
func TestVectorsEGVP(t *testing.T) {
	unaltered := map[string]bool{"#intermediarycertificates": true, "#nonintermediarycertificates": true, "#RequestSignatureMandatory": true}
	for _, name := range []string{"TestnachrichtEeb_1", "Testnachricht_xjustiz321"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(certstest.SharedDir(t), "vectors", "egvp", name)
			soap, parts := readOSCIMIME(t, filepath.Join(dir, "oscicontentdata.osci"))
			doc, err := ParseBytes(soap, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			intermediary := loadDERCert(t, filepath.Join(dir, "certificates", "osci-manager.crt"))
			keys := pinned(intermediary)
			keys.(ValidatorSelector).V.Now = func() time.Time { return time.Date(2021, 10, 29, 12, 0, 0, 0, time.UTC) }
			sig := signatureAt(t, doc, "./soap:Header/osci:SupplierSignature/ds:Signature")
			p := VerifyPolicy{Keys: keys, Attachments: partResolver(parts)}
			si, err := VerifySignedInfo(context.Background(), doc, sig, p)
			if err != nil {
				t.Fatal(err)
			}
			if !si.Signer.Equal(intermediary) {
				t.Fatal("signer is not the intermediary certificate")
			}
			for i, ref := range si.References {
				_, err := si.Check(i)
				want := ErrDigestMismatch
				switch {
				case unaltered[ref.URI]:
					want = nil
				case ref.URI == "#featuredescription":
					want = ErrUnresolvedReference
				}
				if !errors.Is(err, want) {
					t.Errorf("%s: %v, want %v", ref.URI, err, want)
				}
			}
			if _, err := Verify(context.Background(), doc, sig, p); !errors.Is(err, ErrDigestMismatch) {
				t.Errorf("full Verify: %v, want %v", err, ErrDigestMismatch)
			}
		})
	}
}

// TestVectorsEGVPRSAPSS verifies the RSA-PSS SupplierSignature of the
// stored EGVP message Testnachricht_1 (excerpt, see testdata/egvp/README.md).
func TestVectorsEGVPRSAPSS(t *testing.T) {
	doc, err := ParseBytes(certstest.ReadFile(t, filepath.Join("testdata", "egvp", "testnachricht1-supplier-signature.xml")), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	intermediary := loadDERCert(t, filepath.Join(certstest.SharedDir(t), "vectors", "egvp", "TestnachrichtEeb_1", "certificates", "osci-manager.crt"))
	keys := pinned(intermediary)
	keys.(ValidatorSelector).V.Now = func() time.Time { return time.Date(2021, 10, 29, 12, 0, 0, 0, time.UTC) }
	sig := signatureAt(t, doc, "./soap:Header/osci:SupplierSignature/ds:Signature")
	si, err := VerifySignedInfo(context.Background(), doc, sig, VerifyPolicy{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	if si.SignatureMethod != RSAPSSSHA256 || !si.Signer.Equal(intermediary) {
		t.Fatalf("verified %s by %s", si.SignatureMethod, si.Signer.Subject)
	}
	for i, ref := range si.References {
		_, err := si.Check(i)
		want := ErrUnresolvedReference
		switch {
		case ref.URI == "#intermediarycertificates":
			want = nil
		case ref.URI == "#body":
			want = ErrDigestMismatch // emptied in the excerpt
		case strings.HasPrefix(ref.URI, "cid:"):
			want = ErrAttachment
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", ref.URI, err, want)
		}
	}
	t.Run("policy without PSS", func(t *testing.T) {
		_, err := VerifySignedInfo(context.Background(), doc, sig, VerifyPolicy{Keys: keys, SignatureMethods: []string{RSASHA256}})
		if !errors.Is(err, ErrAlgorithmNotAllowed) {
			t.Fatalf("got %v, want %v", err, ErrAlgorithmNotAllowed)
		}
	})
	t.Run("altered SignedInfo", func(t *testing.T) {
		bad := mustParse(t, strings.Replace(string(certstest.ReadFile(t, filepath.Join("testdata", "egvp", "testnachricht1-supplier-signature.xml"))),
			"CUS/e0l8sMq/7R1AI1rwvkPTTB54JLPQFnVN3eRxmWI=", "CUS/e0l8sMq/7R1AI1rwvkPTTB54JLPQFnVN3eRxmWA=", 1))
		_, err := VerifySignedInfo(context.Background(), bad, signatureAt(t, bad, "./soap:Header/osci:SupplierSignature/ds:Signature"), VerifyPolicy{Keys: keys})
		if !errors.Is(err, ErrBadSignature) {
			t.Fatalf("got %v, want %v", err, ErrBadSignature)
		}
	})
}
