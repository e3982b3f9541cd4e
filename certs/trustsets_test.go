package certs

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"testing"
)

// purposeSets is a mailbox's configuration in these tests: the general test
// root for party signatures, the intermediary's signature certificate
// pinned, the VHN CA, and a SAFE cipher certificate in the address book.
func purposeSets(t testing.TB) TrustSets {
	t.Helper()
	content := NewTrustStore()
	for _, n := range []string{"root-ca", "intermediate-ca"} {
		if err := content.AddCA(loadCert(t, n)); err != nil {
			t.Fatal(err)
		}
	}
	inter := NewTrustStore()
	inter.Pin(loadCert(t, "intermediary-signature"))
	vhn := NewTrustStore()
	if err := vhn.AddCA(loadCert(t, "vhn-ca")); err != nil {
		t.Fatal(err)
	}
	book := NewTrustStore()
	book.Pin(loadCert(t, "safe-cipher"))
	book.Pin(loadCert(t, "mailbox-cipher"))
	return TrustSets{Intermediary: inter, VHN: vhn, ContentSigner: content, RecipientCipher: book}
}

func purposeValidators(t testing.TB) Validators {
	return purposeSets(t).Validators(Validator{Now: fixedClock(refTime), Policy: noRevocation})
}

// TestRecipientCipherPinDoesNotSign: a key whose certificate is pinned
// only as a recipient cipher certificate (SAFE publishes them with
// digitalSignature set) signs nothing the gateway trusts: not content,
// not as the intermediary, not as VHN.
func TestRecipientCipherPinDoesNotSign(t *testing.T) {
	vs := purposeValidators(t)
	c := loadCert(t, "safe-cipher")
	for name, v := range map[string]*Validator{"content signer": vs.ContentSigner, "intermediary": vs.Intermediary, "vhn": vs.VHN} {
		res, err := v.Validate(context.Background(), c, nil, PurposeSignature)
		if !errors.Is(err, ErrNotTrusted) || res.Valid {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Its own set vouches for it as a cipher key, and only as that.
	if res, err := vs.RecipientCipher.Check(context.Background(), c, nil); err != nil || !res.Pinned || res.Use != UseRecipientCipher {
		t.Fatalf("as recipient cipher: %v %+v", err, res)
	}
	if _, err := vs.RecipientCipher.Validate(context.Background(), c, nil, PurposeSignature); !errors.Is(err, ErrKeyUsage) {
		t.Fatalf("recipient set asked about a signature: %v", err)
	}
	if _, _, err := vs.RecipientCipher.SelectSigner(context.Background(), []*x509.Certificate{c}); !errors.Is(err, ErrKeyUsage) {
		t.Fatalf("recipient set as a signer selector: %v", err)
	}
}

// TestGeneralCACertIsNotIntermediary: a certificate that chains to the
// configured CAs but is not the pinned intermediary certificate does not
// pass as the intermediary's signer, even when the intermediary's set was
// given a CA by mistake.
func TestGeneralCACertIsNotIntermediary(t *testing.T) {
	sets := purposeSets(t)
	if err := sets.Intermediary.AddCA(loadCert(t, "root-ca")); err != nil {
		t.Fatal(err)
	}
	if err := sets.Intermediary.AddCA(loadCert(t, "intermediate-ca")); err != nil {
		t.Fatal(err)
	}
	vs := sets.Validators(Validator{Now: fixedClock(refTime), Policy: noRevocation})
	for _, n := range []string{"mailbox-signature", "peer-ecdsa-p256"} {
		if _, err := vs.ContentSigner.Check(context.Background(), loadCert(t, n), nil); err != nil {
			t.Fatalf("%s is a valid party signature certificate: %v", n, err)
		}
		if _, err := vs.Intermediary.Check(context.Background(), loadCert(t, n), nil); !errors.Is(err, ErrNotTrusted) {
			t.Errorf("%s passed as intermediary: %v", n, err)
		}
	}
	if _, _, err := vs.Intermediary.SelectSigner(context.Background(), []*x509.Certificate{loadCert(t, "mailbox-signature")}); !errors.Is(err, ErrNotTrusted) {
		t.Fatalf("selector: %v", err)
	}
	res, err := vs.Intermediary.Check(context.Background(), loadCert(t, "intermediary-signature"), nil)
	if err != nil || !res.Pinned || res.Use != UseIntermediary {
		t.Fatalf("the pinned intermediary: %v %+v", err, res)
	}
}

// TestVHNFromGeneralCAIsNoVHN: a VHN look-alike (the SAFE-ID in its UID)
// issued by a CA outside the VHN set is not a VHN certificate, and a VHN
// certificate is not a party signature certificate unless the content set
// trusts its CA.
func TestVHNFromGeneralCAIsNoVHN(t *testing.T) {
	vs := purposeValidators(t)
	if _, err := vs.VHN.Check(context.Background(), loadCert(t, "vhn-general-ca"), nil); !errors.Is(err, ErrNotTrusted) {
		t.Fatalf("look-alike from the general CA: %v", err)
	}
	if res, err := vs.VHN.Check(context.Background(), loadCert(t, "mailbox-vhn"), nil); err != nil || res.Use != UseVHN {
		t.Fatalf("VHN certificate: %v", err)
	}
	if _, err := vs.ContentSigner.Check(context.Background(), loadCert(t, "mailbox-vhn"), nil); !errors.Is(err, ErrNotTrusted) {
		t.Fatalf("VHN certificate as party signer: %v", err)
	}
}

// TestUseKeyUsage: each set answers only for its use's key usage; a
// missing set trusts nothing; TLS is not a Validator's business.
func TestUseKeyUsage(t *testing.T) {
	vs := purposeValidators(t)
	tests := []struct {
		name    string
		v       *Validator
		cert    string
		purpose Purpose
		want    error
	}{
		{"content signer asked for a cipher key", vs.ContentSigner, "mailbox-cipher", PurposeCipher, ErrKeyUsage},
		{"vhn asked for a cipher key", vs.VHN, "mailbox-vhn", PurposeCipher, ErrKeyUsage},
		{"intermediary asked for a cipher key", vs.Intermediary, "intermediary-signature", PurposeCipher, ErrKeyUsage},
		{"recipient cipher", vs.RecipientCipher, "mailbox-cipher", PurposeCipher, nil},
		{"recipient cipher chaining to a CA is not pinned", &Validator{Trust: testTrust(t), Use: UseRecipientCipher, Now: fixedClock(refTime), Policy: noRevocation},
			"mailbox-cipher", PurposeCipher, ErrNotTrusted},
		{"no set", TrustSets{}.Validators(Validator{Now: fixedClock(refTime), Policy: noRevocation}).VHN, "mailbox-vhn", PurposeSignature, ErrNotTrusted},
		{"tls", &Validator{Trust: NewTrustStore(), Use: UseTLS, Now: fixedClock(refTime), Policy: noRevocation}, "mailbox-signature", PurposeSignature, ErrBadPolicy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.v.Validate(context.Background(), loadCert(t, tc.cert), nil, tc.purpose)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

// TestTLSRoots: the TLS set's roots and pins verify a server chain; no set
// means the system roots (nil pool).
func TestTLSRoots(t *testing.T) {
	if (TrustSets{}).TLSRoots() != nil {
		t.Fatal("no TLS set must mean system roots")
	}
	ts := NewTrustStore()
	if err := ts.AddCA(loadCert(t, "root-ca")); err != nil {
		t.Fatal(err)
	}
	ts.Pin(loadCert(t, "intermediary-cipher"))
	pool := TrustSets{TLS: ts}.TLSRoots()
	inter := x509.NewCertPool()
	inter.AddCert(loadCert(t, "intermediate-ca"))
	opts := x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: refTime, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	for _, n := range []string{"mailbox-signature", "intermediary-cipher"} {
		if _, err := loadCert(t, n).Verify(opts); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	if _, err := loadCert(t, "vhn-general-ca").Verify(x509.VerifyOptions{Roots: pool, CurrentTime: refTime}); err == nil {
		t.Error("verified without its intermediate")
	}
}

// TestNames: the words of purposes, revocation modes and uses as reports
// and configuration spell them, parsed back in any case; an unknown value
// is named by its number, an unknown word refused.
func TestNames(t *testing.T) {
	for _, tc := range []struct {
		v    fmt.Stringer
		want string
	}{
		{PurposeSignature, "signature"}, {PurposeCipher, "cipher"}, {Purpose(0), "purpose(0)"}, {Purpose(9), "purpose(9)"},
		{RevocationDefault, "default"}, {RevocationRequire, "require"}, {RevocationPrefer, "prefer"}, {RevocationOff, "off"},
		{RevocationMode(-1), "revocation(-1)"},
		{UseIntermediary, "intermediary"}, {UseVHN, "vhn"}, {UseContentSigner, "content-signer"},
		{UseRecipientCipher, "recipient-cipher"}, {UseTLS, "tls"}, {Use(0), "use(0)"},
	} {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("%#v: %q, want %q", tc.v, got, tc.want)
		}
	}
	if p, err := ParsePurpose("Cipher"); err != nil || p != PurposeCipher {
		t.Errorf("ParsePurpose(Cipher) = %v, %v", p, err)
	}
	if m, err := ParseRevocationMode("PREFER"); err != nil || m != RevocationPrefer {
		t.Errorf("ParseRevocationMode(PREFER) = %v, %v", m, err)
	}
	for _, s := range []string{"", "purpose(1)", "ſignature"} {
		if _, err := ParsePurpose(s); !errors.Is(err, ErrBadPolicy) {
			t.Errorf("ParsePurpose(%q) = %v, want ErrBadPolicy", s, err)
		}
	}
	if _, err := ParseRevocationMode("sometimes"); !errors.Is(err, ErrBadPolicy) {
		t.Errorf("ParseRevocationMode(sometimes) = %v, want ErrBadPolicy", err)
	}
}
