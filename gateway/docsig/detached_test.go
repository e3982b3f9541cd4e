package docsig_test

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/docsig"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/docsig/docsigtest"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

var document = []byte("%PDF-1.7\nSchriftsatz des Klägers vom 1. Dezember 2026\n")

func verifyOne(t *testing.T, v *docsig.Verifier, sig, doc []byte) docsig.Result {
	t.Helper()
	rs := v.VerifyDetached(ctx, "Klage.pdf", "Klage.pdf.p7s", sig, bytes.NewReader(doc))
	if len(rs) != 1 {
		t.Fatalf("%d results", len(rs))
	}
	return rs[0]
}

func TestDetachedValid(t *testing.T) {
	v := verifier(t)
	for _, tc := range []struct {
		name  string
		s     signer
		extra []string
	}{
		{"rsa pkcs1 v1.5 sha-256", pkiSigner(t, "mailbox-signature"), nil},
		{"rsa-pss sha-256", pkiSigner(t, "mailbox-signature"), []string{"-keyopt", "rsa_padding_mode:pss"}},
		{"sha-512", pkiSigner(t, "mailbox-signature"), []string{"-md", "sha512"}},
		{"ecdsa p-256", issue(t, "intermediate-ca", &x509.Certificate{}, false), nil},
		{"without signed attributes", pkiSigner(t, "mailbox-signature"), []string{"-noattr"}},
		{"signer identified by key identifier", issue(t, "intermediate-ca", &x509.Certificate{SubjectKeyId: []byte("signer-key-id-01")}, true), []string{"-keyid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := verifyOne(t, v, sign(t, document, tc.s, tc.extra...), document)
			if r.Err != nil {
				t.Fatalf("Err = %v", r.Err)
			}
			sc := r.SignatureCheck()
			if sc.Integrity != checkresult.OK || sc.CertValidity != checkresult.Valid || sc.CertType != "advanced" || sc.Kind != "document" {
				t.Fatalf("check %+v", sc)
			}
			if sc.Signer != certs.DN(tc.s.c.Subject) || sc.Object != "Klage.pdf (Klage.pdf.p7s)" {
				t.Fatalf("signer %q object %q", sc.Signer, sc.Object)
			}
			if tc.extra == nil && r.SigningTime.IsZero() {
				t.Fatal("openssl's signingTime attribute was not read")
			}
		})
	}
}

func TestQualifiedWhereTheCertificateSaysSo(t *testing.T) {
	v := verifier(t)
	s := issue(t, "intermediate-ca", &x509.Certificate{ExtraExtensions: []pkix.Extension{qcStatements(t, qcCompliance, qcSSCD, qcType)}}, true)
	r := verifyOne(t, v, sign(t, document, s), document)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if q := r.Qualification; !q.Qualified || !q.QSCD || q.Type != "esign" {
		t.Fatalf("qualification %+v", q)
	}
	if sc := r.SignatureCheck(); sc.CertType != "qualified" || !strings.Contains(sc.Detail, "Qualifizierte elektronische Signatur") {
		t.Fatalf("check %+v", sc)
	}
	// An untrusted issuer's claim to qualification is not reported.
	u := issue(t, "unknown-root-ca", &x509.Certificate{ExtraExtensions: []pkix.Extension{qcStatements(t, qcCompliance, qcSSCD)}}, true)
	r = verifyOne(t, v, sign(t, document, u), document)
	if r.Qualification.Qualified || r.SignatureCheck().CertType != "" {
		t.Fatalf("untrusted issuer's qualification reported: %+v", r.Qualification)
	}
}

// Each attack on a detached signature fails with its own sentinel.
func TestDetachedTampering(t *testing.T) {
	v := verifier(t)
	good := pkiSigner(t, "mailbox-signature")
	sig := sign(t, document, good)
	flipped := bytes.Clone(document)
	flipped[20] ^= 1
	other := []byte("%PDF-1.7\nein ganz anderer Schriftsatz\n")

	for _, tc := range []struct {
		name      string
		sig, doc  []byte
		want      []error
		integrity string
		validity  string
	}{
		{"one byte of the document changed", sig, flipped, []error{docsig.ErrDigestMismatch}, checkresult.Corrupted, checkresult.Indeterminate},
		{"signature over other content", sign(t, other, good), document, []error{docsig.ErrDigestMismatch}, checkresult.Corrupted, checkresult.Indeterminate},
		{"document changed, no signed attributes", sign(t, document, good, "-noattr"), flipped, []error{docsig.ErrDigestMismatch}, checkresult.Corrupted, checkresult.Indeterminate},
		{"wrong certificate: same issuer and serial, other key", swapCertificate(t, sig, good.c), document, []error{docsig.ErrSignatureInvalid}, checkresult.Corrupted, checkresult.Indeterminate},
		{"signer certificate left out", sign(t, document, good, "-nocerts"), document, []error{docsig.ErrNoSigner}, checkresult.Indeterminate, checkresult.Indeterminate},
		{"signature value altered", flipLast(sig), document, []error{docsig.ErrSignatureInvalid}, checkresult.Corrupted, checkresult.Indeterminate},
		{"expired certificate", sign(t, document, issue(t, "intermediate-ca", expiredTmpl(), true)), document, []error{docsig.ErrCertificate, certs.ErrExpired}, checkresult.OK, checkresult.Invalid},
		{"untrusted CA", sign(t, document, issue(t, "unknown-root-ca", &x509.Certificate{}, true)), document, []error{docsig.ErrCertificate, certs.ErrNotTrusted}, checkresult.OK, checkresult.Indeterminate},
		{"certificate not for signatures", sign(t, document, issue(t, "intermediate-ca", &x509.Certificate{KeyUsage: x509.KeyUsageKeyEncipherment}, true)), document, []error{docsig.ErrCertificate, certs.ErrKeyUsage}, checkresult.OK, checkresult.Invalid},
		{"sha-1 digest", sign(t, document, good, "-md", "sha1"), document, []error{docsig.ErrWeakAlgorithm}, checkresult.Indeterminate, checkresult.Indeterminate},
		{"not a signature", []byte("-----BEGIN PKCS7-----"), document, []error{docsig.ErrMalformed}, checkresult.Indeterminate, checkresult.Indeterminate},
		{"signature embeds its content", sign(t, document, good, "-nodetach"), document, []error{docsig.ErrUnsupported}, checkresult.Indeterminate, checkresult.Indeterminate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := verifyOne(t, v, tc.sig, tc.doc)
			for _, w := range tc.want {
				if !errors.Is(r.Err, w) {
					t.Fatalf("Err = %v, want %v", r.Err, w)
				}
			}
			if r.Valid() || r.Error == "" {
				t.Fatal("tampered signature reported valid")
			}
			if sc := r.SignatureCheck(); sc.Integrity != tc.integrity || sc.CertValidity != tc.validity || sc.CertType != "" {
				t.Fatalf("integrity %s validity %s type %q, want %s %s", sc.Integrity, sc.CertValidity, sc.CertType, tc.integrity, tc.validity)
			}
		})
	}
}

func flipLast(b []byte) []byte {
	b = bytes.Clone(b)
	b[len(b)-1] ^= 1
	return b
}

// A signing time the signer claims in the future of the verifier's clock.
func TestSigningTimeInTheFuture(t *testing.T) {
	c := docsigtest.Config(t, certs.RevocationPrefer, "root-ca")
	c.Now = func() time.Time { return time.Now().Add(-time.Hour) }
	v, err := docsig.New(c)
	if err != nil {
		t.Fatal(err)
	}
	r := verifyOne(t, v, sign(t, document, pkiSigner(t, "mailbox-signature")), document)
	if !errors.Is(r.Err, docsig.ErrSigningTime) || r.SignatureCheck().CertValidity != checkresult.Invalid {
		t.Fatalf("Err = %v", r.Err)
	}
}

func TestSeveralSigners(t *testing.T) {
	v := verifier(t)
	a, b := pkiSigner(t, "mailbox-signature"), issue(t, "intermediate-ca", &x509.Certificate{}, false)
	sig := sign(t, document, a, "-signer", b.cert, "-inkey", b.key)
	rs := v.VerifyDetached(ctx, "Klage.pdf", "Klage.pdf.p7s", sig, bytes.NewReader(document))
	if len(rs) != 2 || rs[0].Err != nil || rs[1].Err != nil || rs[0].Signer == rs[1].Signer {
		t.Fatalf("results %+v", rs)
	}
}

// Only the content-signer set may vouch for document signers.
func TestVerifierRefusesAnotherTrustSet(t *testing.T) {
	vs := certs.TrustSets{VHN: certs.NewTrustStore()}.Validators(certs.Validator{})
	for _, val := range []*certs.Validator{vs.VHN, vs.Intermediary, vs.RecipientCipher, nil} {
		if _, err := docsig.New(docsig.Config{Validator: val}); !errors.Is(err, docsig.ErrConfig) {
			t.Fatalf("New(%v) = %v", val, err)
		}
	}
}

// Each signature has its own result in the Prüfprotokoll, on its document,
// and Summary gives the worst of a message's: an altered document or an
// invalid certificate is invalid, an issuer outside the trust set only
// indeterminate.
func TestResultStatusAndSummary(t *testing.T) {
	v := verifier(t)
	good := pkiSigner(t, "mailbox-signature")
	flipped := bytes.Clone(document)
	flipped[20] ^= 1
	valid := verifyOne(t, v, sign(t, document, good), document)
	altered := verifyOne(t, v, sign(t, document, good), flipped)
	expired := verifyOne(t, v, sign(t, document, issue(t, "intermediate-ca", expiredTmpl(), true)), document)
	untrusted := verifyOne(t, v, sign(t, document, issue(t, "unknown-root-ca", &x509.Certificate{}, true)), document)
	for _, tc := range []struct {
		name string
		r    docsig.Result
		want string
	}{
		{"valid", valid, checkresult.Valid},
		{"document altered after signing", altered, checkresult.Invalid},
		{"expired certificate", expired, checkresult.Invalid},
		{"untrusted CA", untrusted, checkresult.Indeterminate},
	} {
		sc := tc.r.SignatureCheck()
		if tc.r.Status() != tc.want || sc.Result != tc.want || sc.Document != "Klage.pdf" || sc.Kind != mailbox.SignatureKindDocument {
			t.Errorf("%s: status %s, check %+v, want %s", tc.name, tc.r.Status(), sc, tc.want)
		}
	}
	for _, tc := range []struct {
		rs         []docsig.Result
		want, text string
	}{
		{nil, "", ""},
		{[]docsig.Result{valid}, checkresult.Valid, "Die Signatur des Dokuments ist gültig."},
		{[]docsig.Result{valid, untrusted}, checkresult.Indeterminate, "1 von 2 Signaturen der Dokumente ist nicht abschließend prüfbar: Klage.pdf."},
		{[]docsig.Result{untrusted, altered, expired}, checkresult.Invalid, "2 von 3 Signaturen der Dokumente sind ungültig: Klage.pdf."},
	} {
		if st, text := docsig.Summary(tc.rs); st != tc.want || text != tc.text {
			t.Errorf("Summary of %d = %q %q, want %q %q", len(tc.rs), st, text, tc.want, tc.text)
		}
	}
}

// A signature file beyond the limit is not read whole.
func TestDetachedReaderTooLarge(t *testing.T) {
	c := docsigtest.Config(t, certs.RevocationDefault)
	c.Limits = docsig.Limits{MaxSignatureBytes: 1000}
	v, err := docsig.New(c)
	if err != nil {
		t.Fatal(err)
	}
	big := &countingReader{left: 1 << 30}
	rs := v.VerifyDetachedReader(ctx, "Klage.pdf", "Klage.pdf.p7s", big, bytes.NewReader(document))
	if len(rs) != 1 || !errors.Is(rs[0].Err, docsig.ErrTooLarge) || rs[0].Status() != checkresult.Indeterminate || big.read > 1001 {
		t.Fatalf("results %+v after reading %d bytes", rs, big.read)
	}
}

type countingReader struct{ left, read int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	n = min(n, c.left)
	c.left -= n
	c.read += n
	return int(n), nil
}
