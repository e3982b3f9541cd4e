package xmlsec

import (
	"errors"
	"testing"
)

// TestReferenceCoverageGap: a mathematically valid signature that leaves
// out a part the policy requires is rejected.
func TestReferenceCoverageGap(t *testing.T) {
	tests := []struct {
		name     string
		refs     []string
		required []string
		want     error
	}{
		{"all required present", []string{"#controlblock", "#body", "cid:att1"}, []string{"#controlblock", "#body", "cid:att1"}, nil},
		{"control block not signed", []string{"#body", "cid:att1"}, []string{"#controlblock", "#body"}, ErrMissingReference},
		{"attachment not signed", []string{"#controlblock", "#body"}, []string{"#body", "cid:att1"}, ErrMissingReference},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := signerPolicy(t)
			p.Required = tc.required
			if _, err := verifyBytes(t, signedMessage(t, tc.refs, SignOptions{}), p); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
