package docsig_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

// swapCertificate replaces the signer's certificate in a CMS signature by
// one with the same issuer and serial number but another key, as a forger
// who cannot sign would.
func swapCertificate(t *testing.T, sig []byte, signer *x509.Certificate) []byte {
	t.Helper()
	caKey, caCert := certstest.PKIKey(t, "intermediate-ca")
	key, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: signer.SerialNumber, Subject: signer.Subject, KeyUsage: signer.KeyUsage}
	_, forged := certstest.Issue(t, caKey, caCert, tmpl, key)

	var ci struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue `asn1:"explicit,tag:0"`
	}
	if _, err := asn1.Unmarshal(sig, &ci); err != nil {
		t.Fatal(err)
	}
	var sd []asn1.RawValue // the SignedData SEQUENCE's elements
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &seq); err != nil {
		t.Fatal(err)
	}
	for rest := seq.Bytes; len(rest) > 0; {
		var e asn1.RawValue
		if rest, err = asn1.Unmarshal(rest, &e); err != nil {
			t.Fatal(err)
		}
		sd = append(sd, e)
	}
	var out []byte
	for _, e := range sd {
		if e.Class == asn1.ClassContextSpecific && e.Tag == 0 { // certificates
			var certs []byte
			for rest := e.Bytes; len(rest) > 0; {
				var c asn1.RawValue
				if rest, err = asn1.Unmarshal(rest, &c); err != nil {
					t.Fatal(err)
				}
				if string(c.FullBytes) == string(signer.Raw) {
					certs = append(certs, forged.Raw...)
				} else {
					certs = append(certs, c.FullBytes...)
				}
			}
			b, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: certs})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b...)
			continue
		}
		out = append(out, e.FullBytes...)
	}
	sdb, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: out})
	ci.Content = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sdb}
	res, err := asn1.Marshal(ci)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
