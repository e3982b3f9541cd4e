// Package docsigtest builds document-signature verifiers for tests: the
// content-signer trust set holds CAs of the committed test PKI, and
// revocation is asked as the test says (the PKI's responders do not run in
// tests, so RevocationPrefer only warns). A failure fails the test at once.
// It is imported by tests only.
package docsigtest

import (
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/docsig"
)

// Config is a docsig.Config whose content-signer set trusts the named CAs
// of the test PKI ("root-ca", "intermediate-ca"), with revocation handled
// as mode says; the caller may set its clock and limits.
func Config(t testing.TB, mode certs.RevocationMode, cas ...string) docsig.Config {
	t.Helper()
	ts := certs.NewTrustStore()
	for _, ca := range cas {
		if err := ts.AddCA(certstest.PKICert(t, ca)); err != nil {
			t.Fatal(err)
		}
	}
	vs := certs.TrustSets{ContentSigner: ts}.Validators(certs.Validator{Policy: certs.Policy{SignatureRevocation: mode}})
	return docsig.Config{Validator: vs.ContentSigner}
}

// Verifier is a verifier built from Config(t, mode, cas...).
func Verifier(t testing.TB, mode certs.RevocationMode, cas ...string) *docsig.Verifier {
	t.Helper()
	v, err := docsig.New(Config(t, mode, cas...))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
