package certs

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"
)

// dnNames are the attribute types a distinguished name is shown with by
// name; pkix.Name.String knows neither UID (the SAFE-ID in a VHN
// certificate) nor several others the justice PKIs use.
var dnNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.4": "SN", "2.5.4.5": "SERIALNUMBER", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST",
	"2.5.4.9": "STREET", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "T", "2.5.4.17": "POSTALCODE", "2.5.4.42": "GN",
	"2.5.4.97": "ORGANIZATIONIDENTIFIER", "0.9.2342.19200300.100.1.1": "UID", "0.9.2342.19200300.100.1.25": "DC",
	"1.2.840.113549.1.9.1": "E",
}

// DN renders a distinguished name as RFC 4514 does (most specific RDN
// first), naming the attribute types people meet in German justice
// certificates (UID=DE.Justiz…) instead of showing dotted numbers and hex.
func DN(n pkix.Name) string {
	// A parsed certificate keeps every attribute, UID among them, in Names
	// (ToRDNSequence writes only the fields and ExtraNames).
	seq := n.ToRDNSequence()
	if len(n.Names) > 0 {
		seq = nil
		for _, a := range n.Names {
			seq = append(seq, pkix.RelativeDistinguishedNameSET{a})
		}
	}
	var parts []string
	for i := len(seq) - 1; i >= 0; i-- {
		var attrs []string
		for _, a := range seq[i] {
			attrs = append(attrs, dnType(a.Type)+"="+dnValue(a.Value))
		}
		parts = append(parts, strings.Join(attrs, "+"))
	}
	return strings.Join(parts, ",")
}

func dnType(t asn1.ObjectIdentifier) string {
	if s, ok := dnNames[t.String()]; ok {
		return s
	}
	return t.String()
}

func dnValue(v any) string {
	s, ok := v.(string)
	if !ok {
		b, err := asn1.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return "#" + hex.EncodeToString(b)
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case strings.ContainsRune(`,+"\<>;=`, r),
			i == 0 && (r == ' ' || r == '#'),
			i == len(s)-1 && r == ' ':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
