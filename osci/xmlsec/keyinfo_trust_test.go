package xmlsec

import (
	"errors"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
)

// TestKeyInfoTrustConfusion: KeyInfo only selects among trusted keys. An
// attacker's own certificate, KeyValue or RetrievalMethod adds no trust;
// naming the trusted certificate while signing with another key fails the
// signature.
func TestKeyInfoTrustConfusion(t *testing.T) {
	signer := loadKeyPair(t, "signer")
	attacker := loadKeyPair(t, "attacker")
	si := methods(C14N10, RSASHA256) + bodyReference(t)
	tests := []struct {
		name string
		msg  []byte
		want error
		also error
	}{
		{"attacker key, attacker certificate embedded", craftSigned(t, attacker, si, x509KeyInfo(attacker)), ErrUntrustedKey, certs.ErrNotTrusted},
		{"attacker key, KeyValue only", craftSigned(t, attacker, si,
			`<ds:KeyInfo><ds:KeyValue><ds:RSAKeyValue><ds:Modulus>AQAB</ds:Modulus><ds:Exponent>AQAB</ds:Exponent></ds:RSAKeyValue></ds:KeyValue></ds:KeyInfo>`), ErrUntrustedKey, certs.ErrNotTrusted},
		{"attacker key, no KeyInfo", craftSigned(t, attacker, si, ``), ErrUntrustedKey, certs.ErrNotTrusted},
		// craftSigned puts the signing key's certificate into the message's
		// certificate header, as OSCI does.
		{"attacker key, RetrievalMethod to the message's certificate header",
			craftSigned(t, attacker, si, `<ds:KeyInfo><ds:RetrievalMethod URI="#originator_signature_1"/></ds:KeyInfo>`), ErrUntrustedKey, certs.ErrNotTrusted},
		{"attacker key, trusted certificate named", craftSigned(t, attacker, si, x509KeyInfo(signer)), ErrBadSignature, nil},
		{"RetrievalMethod to another document", craftSigned(t, signer, si, `<ds:KeyInfo><ds:RetrievalMethod URI="http://evil.example/cert.der"/></ds:KeyInfo>`), ErrURINotAllowed, nil},
		{"RetrievalMethod of another type", craftSigned(t, signer, si, `<ds:KeyInfo><ds:RetrievalMethod URI="#originator_signature_1" Type="http://www.w3.org/2000/09/xmldsig#RSAKeyValue"/></ds:KeyInfo>`), ErrAlgorithmNotAllowed, nil},
		{"trusted key and certificate", craftSigned(t, signer, si, x509KeyInfo(signer)), nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verifyBytes(t, tc.msg, signerPolicy(t))
			if !errors.Is(err, tc.want) || (tc.also != nil && !errors.Is(err, tc.also)) {
				t.Fatalf("got %v, want %v (and %v)", err, tc.want, tc.also)
			}
		})
	}
}
