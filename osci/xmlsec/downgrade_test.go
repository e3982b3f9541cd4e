package xmlsec

import (
	"errors"
	"testing"
)

// TestAlgorithmDowngrade: SHA-1, MD5, HMAC (the public key as HMAC
// secret), ECDSA and any method outside the policy fail with
// ErrAlgorithmNotAllowed; small RSA keys with ErrWeakKey.
func TestAlgorithmDowngrade(t *testing.T) {
	kp := loadKeyPair(t, "signer")
	ref := func(digest string) string {
		return `<ds:Reference URI="#body"><ds:Transforms><ds:Transform Algorithm="` + C14N10 + `"/></ds:Transforms><ds:DigestMethod Algorithm="` +
			digest + `"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference>`
	}
	tests := []struct {
		name   string
		sig    string
		digest string
		policy func(*VerifyPolicy)
		want   error
	}{
		{"rsa-sha1", "http://www.w3.org/2000/09/xmldsig#rsa-sha1", SHA256, nil, ErrAlgorithmNotAllowed},
		{"rsa-md5", "http://www.w3.org/2001/04/xmldsig-more#rsa-md5", SHA256, nil, ErrAlgorithmNotAllowed},
		{"hmac-sha1", "http://www.w3.org/2000/09/xmldsig#hmac-sha1", SHA256, nil, ErrAlgorithmNotAllowed},
		{"hmac-sha256", "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256", SHA256, nil, ErrAlgorithmNotAllowed},
		{"ecdsa-sha256", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", SHA256, nil, ErrAlgorithmNotAllowed},
		{"sha1 digest", RSASHA256, "http://www.w3.org/2000/09/xmldsig#sha1", nil, ErrAlgorithmNotAllowed},
		{"md5 digest", RSASHA256, "http://www.w3.org/2001/04/xmldsig-more#md5", nil, ErrAlgorithmNotAllowed},
		{"rsa-sha256 when policy wants PSS", RSASHA256, SHA256,
			func(p *VerifyPolicy) { p.SignatureMethods = []string{RSAPSSSHA256} }, ErrAlgorithmNotAllowed},
		{"sha256 digest when policy wants sha512", RSASHA256, SHA256,
			func(p *VerifyPolicy) { p.DigestMethods = []string{SHA512} }, ErrAlgorithmNotAllowed},
		{"key below policy minimum", RSASHA256, SHA256,
			func(p *VerifyPolicy) { p.MinRSABits = 4096 }, ErrWeakKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := craftSigned(t, kp, methods(C14N10, tc.sig)+ref(tc.digest), x509KeyInfo(kp))
			p := signerPolicy(t)
			if tc.policy != nil {
				tc.policy(&p)
			}
			if _, err := verifyBytes(t, msg, p); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("hmac output length parameter", func(t *testing.T) {
		si := `<ds:CanonicalizationMethod Algorithm="` + C14N10 + `"/><ds:SignatureMethod Algorithm="` + RSASHA256 +
			`"><ds:HMACOutputLength>8</ds:HMACOutputLength></ds:SignatureMethod>` + ref(SHA256)
		if _, err := verifyBytes(t, craftSigned(t, kp, si, x509KeyInfo(kp)), signerPolicy(t)); !errors.Is(err, ErrAlgorithmNotAllowed) {
			t.Fatalf("got %v, want %v", err, ErrAlgorithmNotAllowed)
		}
	})
}
