package gateway

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/intermediaries"
)

// trustFixture builds one mailbox's trust sets as the daemon does: the
// general test CAs as trust.cas, the test intermediary's signature
// certificate pinned, and an address book holding a SAFE cipher
// certificate (self-signed, with digitalSignature set).
func trustFixture(t *testing.T) certs.Validators {
	t.Helper()
	pki := func(name string) string { return filepath.Join(certstest.RepoRoot(t), "testdata", "pki", name+".pem") }
	now := func() time.Time { return trustTestNow }
	book, err := addressbook.Open(filepath.Join(t.TempDir(), config.AddressBookFile), now)
	if err != nil {
		t.Fatal(err)
	}
	safe := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pkiCert(t, "safe-cipher").Raw}))
	if _, err := book.Add(context.Background(), addressbook.Recipient{SafeID: "DE.Justiz.test.0002", Name: "Amtsgericht Test", CipherCert: safe}); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Trust: config.TrustConfig{CAs: []string{pki("root-ca"), pki("intermediate-ca")}, VHNCAs: []string{pki("vhn-ca")}},
		Intermediaries: []config.IntermediaryConfig{{Name: "bebpo", URL: "https://bebpo.example/osci",
			CipherCert: pki("intermediary-cipher"), SignCerts: []string{pki("intermediary-signature")}}}}
	sets, err := buildTrust(cfg, book.List())
	if err != nil {
		t.Fatal(err)
	}
	inters, err := intermediaries.Load(cfg, intermediaries.NewRegistry(now, nil))
	if err != nil {
		t.Fatal(err)
	}
	own, err := inters.Get("bebpo")
	if err != nil {
		t.Fatal(err)
	}
	sets.Intermediary = own.Signers
	return sets.Validators(certs.Validator{Now: now, Policy: certs.Policy{SignatureRevocation: certs.RevocationOff, CipherRevocation: certs.RevocationOff}})
}

// TestAddressBookCipherCertSignsNothing: a certificate pinned from the
// address book is a recipient cipher key and nothing else: signatures made
// with its key are trusted neither as content signatures, nor as VHN, nor
// as the intermediary's.
func TestAddressBookCipherCertSignsNothing(t *testing.T) {
	vs := trustFixture(t)
	c := pkiCert(t, "safe-cipher")
	for name, v := range map[string]*certs.Validator{"content": vs.ContentSigner, "vhn": vs.VHN, "intermediary": vs.Intermediary} {
		if _, err := v.Validate(context.Background(), c, nil, certs.PurposeSignature); !errors.Is(err, certs.ErrNotTrusted) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := vs.RecipientCipher.Check(context.Background(), c, nil); err != nil {
		t.Fatalf("as recipient cipher key: %v", err)
	}
}

// TestIntermediaryPinIsExclusive: a certificate that chains to trust.cas
// but is not pinned in the mailbox's intermediary.signature_certs does not
// pass as the intermediary.
func TestIntermediaryPinIsExclusive(t *testing.T) {
	vs := trustFixture(t)
	if _, err := vs.ContentSigner.Check(context.Background(), pkiCert(t, "mailbox-signature"), nil); err != nil {
		t.Fatalf("a valid party certificate: %v", err)
	}
	if _, err := vs.Intermediary.Check(context.Background(), pkiCert(t, "mailbox-signature"), nil); !errors.Is(err, certs.ErrNotTrusted) {
		t.Fatalf("passed as intermediary: %v", err)
	}
	if _, err := vs.Intermediary.Check(context.Background(), pkiCert(t, "intermediary-signature"), nil); err != nil {
		t.Fatalf("the pinned intermediary: %v", err)
	}
}

// trustTestNow is inside the validity of the test PKI (testdata/pki).
var trustTestNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// pkiCert reads a certificate of the test PKI.
func pkiCert(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	cs, err := certs.LoadCertificates(filepath.Join(certstest.RepoRoot(t), "testdata", "pki", name+".pem"))
	if err != nil || len(cs) == 0 {
		t.Fatalf("%s: %v", name, err)
	}
	return cs[0]
}
