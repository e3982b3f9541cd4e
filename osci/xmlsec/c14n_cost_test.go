package xmlsec

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestC14NCost: inputs built to make canonicalization expensive hit a
// limit with a typed error: many namespace declarations, many elements,
// and nested references whose canonical forms add up.
func TestC14NCost(t *testing.T) {
	t.Run("namespace declarations times elements", func(t *testing.T) {
		var b strings.Builder
		for i := 0; i < 40; i++ {
			b.WriteString("<e")
			for j := 0; j < 60; j++ {
				fmt.Fprintf(&b, ` xmlns:p%d_%d="urn:%d"`, i, j, j)
			}
			b.WriteString(">")
		}
		lim := DefaultLimits()
		lim.MaxAttributes = 100
		if _, err := ParseBytes([]byte(b.String()), lim); !errors.Is(err, ErrTooManyNamespace) {
			t.Fatalf("got %v, want %v", err, ErrTooManyNamespace)
		}
	})
	t.Run("element count", func(t *testing.T) {
		in := "<r>" + strings.Repeat("<e/>", 100001) + "</r>"
		if _, err := ParseBytes([]byte(in), DefaultLimits()); !errors.Is(err, ErrTooManyElements) {
			t.Fatalf("got %v, want %v", err, ErrTooManyElements)
		}
	})
	t.Run("nested references add up", func(t *testing.T) {
		// 30 nested elements, each referenced: the canonical forms overlap
		// and together exceed the policy's budget.
		kp := loadKeyPair(t, "signer")
		var open, closeTags strings.Builder
		var refs []string
		for i := 0; i < 30; i++ {
			fmt.Fprintf(&open, `<osci:N Id="n%d">`, i)
			closeTags.WriteString("</osci:N>")
			refs = append(refs, fmt.Sprintf("#n%d", i))
		}
		msg := strings.Replace(osciMessage(kp.Cert), "</soap:Body>", open.String()+strings.Repeat("x", 2000)+closeTags.String()+"</soap:Body>", 1)
		doc := mustParse(t, msg)
		if _, err := Sign(doc, doc.Root().FindElement(".//osci:ClientSignature"), refs, SignOptions{Key: kp.Key, Certificate: kp.Cert}); err != nil {
			t.Fatal(err)
		}
		p := signerPolicy(t)
		p.MaxCanonicalBytes = 32 << 10
		if _, err := verifyBytes(t, serialize(t, doc), p); !errors.Is(err, ErrCanonicalizationLimit) {
			t.Fatalf("got %v, want %v", err, ErrCanonicalizationLimit)
		}
		p.MaxCanonicalBytes = 0
		if _, err := verifyBytes(t, serialize(t, doc), p); !errors.Is(err, nil) {
			t.Fatalf("default budget: %v", err)
		}
	})
	t.Run("too many references", func(t *testing.T) {
		kp := loadKeyPair(t, "signer")
		si := methods(C14N10, RSASHA256)
		for i := 0; i < 65; i++ {
			si += fmt.Sprintf(`<ds:Reference URI="cid:a%d"><ds:DigestMethod Algorithm="%s"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference>`, i, SHA256)
		}
		if _, err := verifyBytes(t, craftSigned(t, kp, si, x509KeyInfo(kp)), signerPolicy(t)); !errors.Is(err, ErrMalformedSignature) {
			t.Fatalf("got %v, want %v", err, ErrMalformedSignature)
		}
	})
}
