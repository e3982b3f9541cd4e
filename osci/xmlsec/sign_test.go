package xmlsec

import (
	"bytes"
	"errors"
	"math/rand"
	"strings"
	"testing"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	refs := []string{"#controlblock", "#body", "#nonintermediarycertificates", "cid:att1"}
	tests := []struct {
		name string
		o    SignOptions
	}{
		{"rsa-sha256 inclusive x509data", SignOptions{}},
		{"rsa-pss-sha256", SignOptions{Algorithm: SignatureRSAPSSSHA256}},
		{"rsa-pss-sha512 sha512 digests", SignOptions{Algorithm: SignatureRSAPSSSHA512, DigestMethod: SHA512}},
		{"rsa-sha512 exclusive", SignOptions{Algorithm: SignatureRSASHA512, Canonicalization: ExcC14N10}},
		{"retrieval method", SignOptions{RetrievalURI: "#originator_signature_1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := signedMessage(t, refs, tc.o)
			p := signerPolicy(t)
			p.Required = []string{"#body", "#controlblock", "cid:att1"}
			v, err := verifyBytes(t, msg, p)
			if err != nil {
				t.Fatalf("verify: %v\n%s", err, msg)
			}
			if len(v.References) != len(refs) || v.Signer == nil || v.Certificate == nil || !v.Certificate.Pinned {
				t.Fatalf("verified %+v", v)
			}
			body, ok := v.Reference("#body")
			if !ok {
				t.Fatal("no #body reference")
			}
			el, err := body.Element()
			if err != nil || el.Tag != "Body" ||
				!strings.Contains(string(body.Canonical), "Hallo Welt &amp; Co. äöü") ||
				body.Path != "/{http://schemas.xmlsoap.org/soap/envelope/}Envelope/{http://schemas.xmlsoap.org/soap/envelope/}Body" {
				t.Fatalf("body reference %+v", body)
			}
			if att, _ := v.Reference("cid:att1"); att == nil || att.Canonical != nil || len(att.Digest) == 0 {
				t.Fatalf("attachment reference %+v", att)
			} else if _, err := att.Element(); err == nil {
				t.Fatal("attachment reference yields an element")
			}
		})
	}
}

// TestSignatureAlgorithmNames pins the configuration names and the URIs
// they stand for, and that Sign writes that URI and Verify reports it.
func TestSignatureAlgorithmNames(t *testing.T) {
	tests := []struct {
		name string
		alg  SignatureAlgorithm
		uri  string
	}{
		{"rsa-sha256", SignatureRSASHA256, RSASHA256},
		{"rsa-pss-sha256", SignatureRSAPSSSHA256, RSAPSSSHA256},
		{"rsa-sha512", SignatureRSASHA512, RSASHA512},
		{"rsa-pss-sha512", SignatureRSAPSSSHA512, RSAPSSSHA512},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got SignatureAlgorithm
			if err := got.UnmarshalText([]byte(tc.name)); err != nil || got != tc.alg || got.String() != tc.name || got.URI() != tc.uri {
				t.Fatalf("%q: %v (%s, %s), %v", tc.name, got, got, got.URI(), err)
			}
			if text, err := got.MarshalText(); err != nil || string(text) != tc.name {
				t.Fatalf("MarshalText %q, %v", text, err)
			}
			v, err := verifyBytes(t, signedMessage(t, []string{"#body"}, SignOptions{Algorithm: tc.alg}), signerPolicy(t))
			if err != nil || v.SignatureMethod != tc.uri {
				t.Fatalf("signed and verified as %q: %v", v.SignatureMethod, err)
			}
		})
	}
	var zero SignatureAlgorithm
	if zero != SignatureRSASHA256 {
		t.Error("the zero value is not rsa-sha256")
	}
	for _, bad := range []string{"", "rsa-sha1", "RSA-SHA256", RSAPSSSHA256, "ecdsa-sha256"} {
		if _, err := ParseSignatureAlgorithm(bad); !errors.Is(err, ErrAlgorithmNotAllowed) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := signatureAlgorithmEnd.MarshalText(); !errors.Is(err, ErrAlgorithmNotAllowed) {
		t.Errorf("MarshalText of an unknown value: %v", err)
	}
}

func TestSignPSSUsesInjectedRand(t *testing.T) {
	a := signedMessage(t, []string{"#body"}, SignOptions{Algorithm: SignatureRSAPSSSHA256, Rand: rand.New(rand.NewSource(1))})
	b := signedMessage(t, []string{"#body"}, SignOptions{Algorithm: SignatureRSAPSSSHA256, Rand: rand.New(rand.NewSource(1))})
	if !bytes.Equal(a, b) {
		t.Error("same Rand gave different PSS signatures")
	}
}

func TestSignRejects(t *testing.T) {
	weak := loadKeyPair(t, "weak")
	signer := loadKeyPair(t, "signer")
	attacker := loadKeyPair(t, "attacker")
	tests := []struct {
		name string
		refs []string
		o    SignOptions
		want error
	}{
		{"unknown signature algorithm", []string{"#body"}, SignOptions{Algorithm: signatureAlgorithmEnd}, ErrAlgorithmNotAllowed},
		{"sha1 digest", []string{"#body"}, SignOptions{DigestMethod: "http://www.w3.org/2000/09/xmldsig#sha1"}, ErrAlgorithmNotAllowed},
		{"c14n with comments", []string{"#body"}, SignOptions{Canonicalization: C14N10 + "#WithComments"}, ErrAlgorithmNotAllowed},
		{"2048-bit key", []string{"#body"}, SignOptions{Key: weak.Key, Certificate: weak.Cert}, ErrWeakKey},
		{"certificate of another key", []string{"#body"}, SignOptions{Key: signer.Key, Certificate: attacker.Cert}, ErrMalformedSignature},
		{"unknown id", []string{"#nothere"}, SignOptions{}, ErrUnresolvedReference},
		{"http uri", []string{"http://example.org/x"}, SignOptions{}, ErrURINotAllowed},
		{"same uri twice", []string{"#body", "#body"}, SignOptions{}, ErrDuplicateReference},
		{"missing attachment", []string{"cid:nothere"}, SignOptions{}, ErrAttachment},
		{"no references", nil, SignOptions{}, ErrMissingReference},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := mustParse(t, osciMessage(signer.Cert))
			before := serialize(t, doc)
			o := tc.o
			if o.Key == nil {
				o.Key, o.Certificate = signer.Key, signer.Cert
			}
			o.Attachments = attachments(map[string]string{})
			_, err := Sign(doc, nil, tc.refs, o)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if !bytes.Equal(before, serialize(t, doc)) {
				t.Error("failed Sign changed the document")
			}
		})
	}
}

// TestSignEnveloped: a signature placed inside a referenced element gets
// the enveloped-signature transform and verifies, here and in xmlsec1.
func TestSignEnveloped(t *testing.T) {
	kp := loadKeyPair(t, "signer")
	doc := mustParse(t, osciMessage(kp.Cert))
	body := doc.Root().FindElement("./soap:Body")
	if _, err := Sign(doc, body, []string{"#body", "#controlblock"}, SignOptions{Key: kp.Key, Certificate: kp.Cert}); err != nil {
		t.Fatal(err)
	}
	msg := serialize(t, doc)
	if !bytes.Contains(msg, []byte(EnvelopedSignature)) {
		t.Fatal("no enveloped-signature transform written")
	}
	v, err := verifyBytes(t, msg, signerPolicy(t))
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := v.Reference("#body")
	if bytes.Contains(ref.Canonical, []byte("SignatureValue")) {
		t.Fatal("signed body octets include the signature")
	}
	t.Run("xmlsec1", func(t *testing.T) {
		if out, err := xmlsec1Verify(t, msg); err != nil {
			t.Fatalf("xmlsec1: %v\n%s", err, out)
		}
	})
}
