package xmlsec

import (
	"errors"
	"testing"
)

// TestC14NTransformAbuse: only inclusive and exclusive C14N 1.0 without
// comments (and enveloped-signature, base64 as sole transform) are
// accepted, as CanonicalizationMethod or as Reference transform; every
// other identifier fails with ErrAlgorithmNotAllowed even under a valid
// signature by a trusted key.
func TestC14NTransformAbuse(t *testing.T) {
	kp := loadKeyPair(t, "signer")
	ref := func(transforms string) string {
		return `<ds:Reference URI="#body"><ds:Transforms>` + transforms + `</ds:Transforms><ds:DigestMethod Algorithm="` + SHA256 +
			`"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference>`
	}
	tr := func(alg string) string { return `<ds:Transform Algorithm="` + alg + `"/>` }
	tests := []struct {
		name     string
		c14n     string
		transfor string
		want     error
	}{
		{"c14n with comments", C14N10 + "#WithComments", tr(C14N10), ErrAlgorithmNotAllowed},
		{"exc-c14n with comments", ExcC14N10 + "WithComments", tr(C14N10), ErrAlgorithmNotAllowed},
		{"c14n 1.1", "http://www.w3.org/2006/12/xml-c14n11", tr(C14N10), ErrAlgorithmNotAllowed},
		{"unknown canonicalization", "urn:example:c14n", tr(C14N10), ErrAlgorithmNotAllowed},
		{"transform with comments", C14N10, tr(C14N10 + "#WithComments"), ErrAlgorithmNotAllowed},
		{"xpath transform", C14N10, `<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>not(ancestor-or-self::x)</ds:XPath></ds:Transform>`, ErrAlgorithmNotAllowed},
		{"xpath filter 2", C14N10, tr("http://www.w3.org/2002/06/xmldsig-filter2"), ErrAlgorithmNotAllowed},
		{"xslt transform", C14N10, tr("http://www.w3.org/TR/1999/REC-xslt-19991116"), ErrAlgorithmNotAllowed},
		{"base64 then c14n", C14N10, tr(Base64Transform) + tr(C14N10), ErrAlgorithmNotAllowed},
		{"enveloped not first", C14N10, tr(C14N10) + tr(EnvelopedSignature), ErrAlgorithmNotAllowed},
		{"three transforms", C14N10, tr(EnvelopedSignature) + tr(C14N10) + tr(C14N10), ErrAlgorithmNotAllowed},
		{"allowed: c14n, wrong digest", C14N10, tr(C14N10), ErrDigestMismatch},
		{"allowed: exc-c14n, wrong digest", C14N10, tr(ExcC14N10), ErrDigestMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := craftSigned(t, kp, methods(tc.c14n, RSASHA256)+ref(tc.transfor), x509KeyInfo(kp))
			if _, err := verifyBytes(t, msg, signerPolicy(t)); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
