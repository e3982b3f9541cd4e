package certs

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

func TestDN(t *testing.T) {
	uid := asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	n := pkix.Name{CommonName: "Amtsgericht Köln, Geschäftsstelle", Organization: []string{"Justiz NRW"}, Country: []string{"DE"},
		ExtraNames: []pkix.AttributeTypeAndValue{{Type: uid, Value: "DE.Justiz.a19afb3b-f92b-436e-aaff-e8de56a6d507.7650"}}}
	want := `UID=DE.Justiz.a19afb3b-f92b-436e-aaff-e8de56a6d507.7650,CN=Amtsgericht Köln\, Geschäftsstelle,O=Justiz NRW,C=DE`
	if got := DN(n); got != want {
		t.Errorf("DN = %q\nwant %q", got, want)
	}
	// As parsed from a certificate: every attribute in Names.
	var parsed pkix.Name
	parsed.FillFromRDNSequence(&pkix.RDNSequence{
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: "DE"}}, {{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "Stadt"}}, {{Type: uid, Value: "DE.Demo.0001"}}})
	if got := DN(parsed); got != "UID=DE.Demo.0001,CN=Stadt,C=DE" {
		t.Errorf("parsed name: %q", got)
	}
	if got := DN(pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{1, 2, 3}, Value: 7}}}); got != "1.2.3=#020107" {
		t.Errorf("non-string value: %q", got)
	}
}
