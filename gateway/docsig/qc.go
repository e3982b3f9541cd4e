package docsig

import (
	"crypto/x509"
	"encoding/asn1"
)

// ETSI EN 319 412-5 QCStatements (RFC 3739 extension 1.3.6.1.5.5.7.1.3).
var (
	oidQCStatements = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 3}
	oidQcCompliance = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 1}
	oidQcSSCD       = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 4}
	oidQcType       = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 6}
	oidQcTypeESign  = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 6, 1}
	oidQcTypeESeal  = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 6, 2}
	oidQcTypeWeb    = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 6, 3}
)

// Qualification is what a certificate says of itself in its QCStatements.
// It is a claim of the issuer, worth as much as the trust in that issuer:
// it is reported only for a certificate that validated.
type Qualification struct {
	// Qualified: the certificate is an EU qualified certificate
	// (QcCompliance).
	Qualified bool `json:"qualified"`
	// QSCD: the private key is in a qualified signature creation device
	// (QcSSCD); with Qualified, a qualified electronic signature (QES) or
	// seal.
	QSCD bool `json:"qscd"`
	// Type is "esign" (natural person), "eseal" (legal person), "web" or
	// "" when the certificate names none (a qualified one then is esign).
	Type string `json:"type,omitempty"`
}

type qcStatement struct {
	ID   asn1.ObjectIdentifier
	Info asn1.RawValue `asn1:"optional"`
}

// qualification reads c's QCStatements; a malformed extension says
// nothing (not qualified).
func qualification(c *x509.Certificate) Qualification {
	var q Qualification
	for _, ext := range c.Extensions {
		if !ext.Id.Equal(oidQCStatements) {
			continue
		}
		var sts []qcStatement
		if rest, err := asn1.Unmarshal(ext.Value, &sts); err != nil || len(rest) != 0 {
			return Qualification{}
		}
		for _, st := range sts {
			switch {
			case st.ID.Equal(oidQcCompliance):
				q.Qualified = true
			case st.ID.Equal(oidQcSSCD):
				q.QSCD = true
			case st.ID.Equal(oidQcType):
				var types []asn1.ObjectIdentifier
				if _, err := asn1.Unmarshal(st.Info.FullBytes, &types); err == nil {
					for _, t := range types {
						switch {
						case t.Equal(oidQcTypeESign):
							q.Type = "esign"
						case t.Equal(oidQcTypeESeal):
							q.Type = "eseal"
						case t.Equal(oidQcTypeWeb):
							q.Type = "web"
						}
					}
				}
			}
		}
	}
	if q.Qualified && q.Type == "" {
		q.Type = "esign" // EN 319 412-5: absent QcType means esign
	}
	return q
}
