package egvp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
)

// selfSigned is a leaf certificate signed by its own key, as courts'
// EGVP clients make for their transport signature.
func selfSigned(t *testing.T, ku x509.KeyUsage) *x509.Certificate {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(77), Subject: pkix.Name{CommonName: "Amtsgericht Beispielstadt EGVP"},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage: ku, SignatureAlgorithm: x509.SHA256WithRSA}
	_, c := certstest.Issue(t, nil, nil, tmpl, key)
	return c
}

// inspected is a delivery whose sender signed its orders with cert and
// whose intermediary found that signature intact.
func inspected(cert *x509.Certificate) *osci.Delivery {
	return &osci.Delivery{Sender: osci.Certificates{osci.NewCertEntry(osci.SignatureOriginator, 0, cert)},
		Card: &osci.ProcessCardBundle{Inspections: []osci.Inspection{{SubjectName: cert.Subject.String(), IssuerName: cert.Issuer.String(),
			SerialNumber: cert.SerialNumber.String(), MathResult: checkresult.OK, OfflineResult: checkresult.Valid}}}}
}

// TestSenderCertificateValidity is the rule for the sender's transport
// certificate as a table: one that merely does not chain to a configured
// CA (a court's self-signed EGVP certificate, a CA we do not know) leaves
// the sender's identity unconfirmed, indeterminate, and the message is
// delivered so; invalid, and quarantined as certificate_invalid, is only a
// certificate that is expired or not yet valid, of the wrong key usage,
// weak, or with broken mathematics.
func TestSenderCertificateValidity(t *testing.T) {
	tests := []struct {
		name     string
		cert     *x509.Certificate
		validity string
		reason   string
	}{
		{"chains to a configured CA", certstest.PKICert(t, "mailbox-signature"), checkresult.Valid, ""},
		{"self-signed, as courts' EGVP clients make it", selfSigned(t, x509.KeyUsageDigitalSignature), checkresult.Indeterminate, ReasonCheckIndeterminate},
		{"issued by a CA not configured", certstest.PKICert(t, "unknown-ca-leaf"), checkresult.Indeterminate, ReasonCheckIndeterminate},
		{"expired", certstest.PKICert(t, "expired"), checkresult.Invalid, ReasonCertificateInvalid},
		{"not yet valid", certstest.PKICert(t, "not-yet-valid"), checkresult.Invalid, ReasonCertificateInvalid},
		{"wrong key usage", certstest.PKICert(t, "wrong-usage"), checkresult.Invalid, ReasonCertificateInvalid},
		{"self-signed with the wrong key usage", selfSigned(t, x509.KeyUsageKeyEncipherment), checkresult.Invalid, ReasonCertificateInvalid},
		{"RSA 1024", certstest.PKICert(t, "rsa1024"), checkresult.Invalid, ReasonCertificateInvalid},
		{"signed with SHA-1", certstest.PKICert(t, "sha1"), checkresult.Invalid, ReasonCertificateInvalid},
		{"signed with MD5", certstest.PKICert(t, "md5"), checkresult.Invalid, ReasonCertificateInvalid},
	}
	r := reader(t, generalCAs...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := r.transportCheck(context.Background(), inspected(tc.cert), testNow)
			if s.check.Integrity != checkresult.OK || s.check.CertValidity != tc.validity {
				t.Fatalf("integrity %s, certificate %s, want ok/%s (%s)", s.check.Integrity, s.check.CertValidity, tc.validity, s.check.Detail)
			}
			rep := Report{Signatures: []SignatureCheck{{Object: "supplier", Integrity: checkresult.OK, CertValidity: checkresult.Valid}, s.check}}
			if v := rep.Verdict(); v.Reason != tc.reason || (v.Status == checkresult.Invalid) != (tc.validity == checkresult.Invalid) {
				t.Fatalf("verdict %+v, want reason %q", v, tc.reason)
			}
		})
	}
}

// TestCertValidity maps validation failures to a certificate validity,
// revocation included (its fixtures need a responder; the mapping is the
// rule).
func TestCertValidity(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, checkresult.Valid},
		{certs.ErrNotTrusted, checkresult.Indeterminate},
		{certs.ErrRevocationUnavailable, checkresult.Indeterminate},
		{certs.ErrExpired, checkresult.Invalid},
		{certs.ErrNotYetValid, checkresult.Invalid},
		{certs.ErrRevoked, checkresult.Invalid},
		{certs.ErrKeyUsage, checkresult.Invalid},
		{certs.ErrWeakKey, checkresult.Invalid},
		{certs.ErrWeakAlgorithm, checkresult.Invalid},
		{errors.New("anything else"), checkresult.Invalid},
	} {
		if got := certValidity(fmt.Errorf("wrapped: %w", tc.err)); tc.err != nil && got != tc.want {
			t.Errorf("%v: %s, want %s", tc.err, got, tc.want)
		}
		if tc.err == nil && certValidity(nil) != tc.want {
			t.Errorf("nil: %s", certValidity(nil))
		}
	}
}
