package xmlsec

import (
	"bytes"
	"errors"
	"testing"
)

// TestDuplicateID: two elements carrying the same identifier value stop
// verification before any digest is computed, whichever Id spelling they
// use.
func TestDuplicateID(t *testing.T) {
	signed := signedMessage(t, []string{"#controlblock", "#body"}, SignOptions{})
	inject := func(el string) []byte {
		return bytes.Replace(bytes.Clone(signed), []byte("</soap:Header>"), []byte(el+"</soap:Header>"), 1)
	}
	tests := []struct {
		name string
		msg  []byte
	}{
		{"same Id", inject(`<osci:X Id="body"/>`)},
		{"ID spelling", inject(`<osci:X ID="body"/>`)},
		{"id spelling", inject(`<osci:X id="controlblock"/>`)},
		{"xml:id", inject(`<osci:X xml:id="body"/>`)},
		{"unreferenced duplicate", inject(`<osci:X Id="nonintermediarycertificates"/>`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := verifyBytes(t, tc.msg, signerPolicy(t)); !errors.Is(err, ErrDuplicateID) {
				t.Fatalf("got %v, want %v", err, ErrDuplicateID)
			}
		})
	}
}
