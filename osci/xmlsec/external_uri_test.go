package xmlsec

import (
	"errors"
	"testing"
)

// TestExternalReferenceURI: only "#Id" and "cid:" references are resolved;
// remote, file, XPointer and relative URIs, and the whole document unless
// the policy allows it, fail with ErrURINotAllowed before anything is
// fetched.
func TestExternalReferenceURI(t *testing.T) {
	kp := loadKeyPair(t, "signer")
	ref := func(uri string) string {
		return `<ds:Reference URI="` + uri + `"><ds:DigestMethod Algorithm="` + SHA256 + `"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference>`
	}
	tests := []struct {
		name, uri string
		want      error
	}{
		{"http", "http://evil.example/x.xml", ErrURINotAllowed},
		{"https", "https://evil.example/x.xml", ErrURINotAllowed},
		{"file", "file:///etc/passwd", ErrURINotAllowed},
		{"xpointer", "#xpointer(id('body'))", ErrURINotAllowed},
		{"xpointer root", "#xpointer(/)", ErrURINotAllowed},
		{"relative", "body", ErrURINotAllowed},
		{"empty fragment", "#", ErrURINotAllowed},
		{"whole document", "", ErrURINotAllowed},
		{"cid with control character", "cid:a&#10;b", ErrURINotAllowed},
		{"unknown id", "#nothere", ErrUnresolvedReference},
		{"cid without resolver entry", "cid:nothere", ErrAttachment},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := craftSigned(t, kp, methods(C14N10, RSASHA256)+ref(tc.uri), x509KeyInfo(kp))
			if _, err := verifyBytes(t, msg, signerPolicy(t)); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("reference without URI", func(t *testing.T) {
		si := methods(C14N10, RSASHA256) + `<ds:Reference><ds:DigestMethod Algorithm="` + SHA256 + `"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference>`
		if _, err := verifyBytes(t, craftSigned(t, kp, si, x509KeyInfo(kp)), signerPolicy(t)); !errors.Is(err, ErrURINotAllowed) {
			t.Fatalf("got %v, want %v", err, ErrURINotAllowed)
		}
	})
}
