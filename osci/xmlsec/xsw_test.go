package xmlsec

import (
	"bytes"
	"errors"
	"testing"
)

const (
	pathBody         = "/{http://schemas.xmlsoap.org/soap/envelope/}Envelope/{http://schemas.xmlsoap.org/soap/envelope/}Body"
	pathControlBlock = "/{http://schemas.xmlsoap.org/soap/envelope/}Envelope/{http://schemas.xmlsoap.org/soap/envelope/}Header/{http://www.osci.de/2002/04/osci}ControlBlock"
)

// TestXSW covers XML signature wrapping (Somorovsky et al. 2012): the
// signed parts are moved, copied or wrapped so that a naive handler reads
// unsigned content. Each variant either fails with the named sentinel or,
// where the signature stays mathematically valid, Verified holds only the
// original signed content.
func TestXSW(t *testing.T) {
	signed := signedMessage(t, []string{"#controlblock", "#body"}, SignOptions{})
	const origBody = `<soap:Body Id="body"><osci:Content xmlns:p="urn:payload" p:b="2" a="1">Hallo Welt &amp; Co. äöü</osci:Content></soap:Body>`
	const evilBody = `<soap:Body><osci:Content>Überweisung an Mallory</osci:Content></soap:Body>`
	if !bytes.Contains(signed, []byte(origBody)) {
		t.Fatal("fixture changed: body not found verbatim")
	}
	replace := func(old, new string) []byte {
		return bytes.Replace(bytes.Clone(signed), []byte(old), []byte(new), 1)
	}
	tests := []struct {
		name      string
		msg       []byte
		placement bool
		want      error
	}{
		{"XSW1 signed body moved under a header wrapper, evil body in place",
			bytes.Replace(replace(origBody, evilBody), []byte("</soap:Header>"), []byte("<osci:Wrapper>"+origBody+"</osci:Wrapper></soap:Header>"), 1),
			true, ErrMisplaced},
		{"XSW2 evil body with the same Id before the signed one",
			replace(origBody, `<soap:Body Id="body"><osci:Content>evil</osci:Content></soap:Body>`+origBody), false, ErrDuplicateID},
		{"XSW3 evil copy with the same Id in the header",
			replace("</soap:Header>", `<osci:Extensions><soap:Body Id="body">evil</soap:Body></osci:Extensions></soap:Header>`), false, ErrDuplicateID},
		{"XSW4 signed control block wrapped inside an evil one",
			bytes.Replace(replace(`<osci:ControlBlock Id="controlblock"`, `<osci:ControlBlock SequenceNumber="7"><osci:ControlBlock Id="controlblock"`),
				[]byte("</osci:ControlBlock>"), []byte("</osci:ControlBlock></osci:ControlBlock>"), 1), true, ErrMisplaced},
		{"XSW5 Id moved from the signed body to the evil one",
			replace(origBody, `<soap:Body Id="body"><osci:Content>evil</osci:Content></soap:Body>`), false, ErrDigestMismatch},
		{"XSW6 signature moved into the signed body",
			moveSignatureIntoBody(t, signed), false, ErrMalformedSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := signerPolicy(t)
			if tc.placement {
				p.Placement = map[string]string{"#body": pathBody, "#controlblock": pathControlBlock}
			}
			if _, err := verifyBytes(t, tc.msg, p); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// Without a placement policy XSW1 verifies, and Verified still holds
	// only the signed body: the handler never sees the evil one.
	t.Run("XSW1 without placement hands on only the signed body", func(t *testing.T) {
		msg := bytes.Replace(replace(origBody, evilBody), []byte("</soap:Header>"), []byte("<osci:Wrapper>"+origBody+"</osci:Wrapper></soap:Header>"), 1)
		body, el := verifiedBody(t, msg)
		if got := el.FindElement("./osci:Content").Text(); got != "Hallo Welt & Co. äöü" {
			t.Fatalf("verified body says %q", got)
		}
		if body.Path == pathBody {
			t.Fatal("path hides the move")
		}
	})
}

func moveSignatureIntoBody(t *testing.T, signed []byte) []byte {
	doc := mustParse(t, string(signed))
	sig := findSignature(t, doc)
	sig.Parent().RemoveChild(sig)
	doc.Root().FindElement("./soap:Body").AddChild(sig)
	return serialize(t, doc)
}
