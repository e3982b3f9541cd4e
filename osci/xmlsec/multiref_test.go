package xmlsec

import (
	"bytes"
	"errors"
	"testing"
)

// TestMultiReferenceConfusion (GHSA-479m-364c-43vc): with several
// references, every one is checked against its own target; content swapped
// into the second reference's element is caught.
func TestMultiReferenceConfusion(t *testing.T) {
	signed := signedMessage(t, []string{"#controlblock", "#body"}, SignOptions{})
	tests := []struct {
		name string
		msg  []byte
		want error
	}{
		{"untouched", signed, nil},
		{"second reference content swapped for the first's", bytes.Replace(bytes.Clone(signed),
			[]byte("Hallo Welt &amp; Co. äöü"), []byte("<osci:Challenge>QAwFGN/abmSPsQ==</osci:Challenge>"), 1), ErrDigestMismatch},
		{"first reference altered, second intact", bytes.Replace(bytes.Clone(signed),
			[]byte("QAwFGN/abmSPsQ=="), []byte("QAwFGN/abmSPsA=="), 1), ErrDigestMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := verifyBytes(t, tc.msg, signerPolicy(t)); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestDuplicateReference: two References to the same URI in one SignedInfo
// are refused, even under a valid signature.
func TestDuplicateReference(t *testing.T) {
	kp := loadKeyPair(t, "signer")
	ref := bodyReference(t)
	msg := craftSigned(t, kp, methods(C14N10, RSASHA256)+ref+ref, x509KeyInfo(kp))
	if _, err := verifyBytes(t, msg, signerPolicy(t)); !errors.Is(err, ErrDuplicateReference) {
		t.Fatalf("got %v, want %v", err, ErrDuplicateReference)
	}
}
