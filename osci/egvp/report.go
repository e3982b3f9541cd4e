package egvp

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// Check outcomes, as in OSCI Inspection and the EGVP Prüfprotokoll.
const (
	ResultOK            = "ok"
	ResultCorrupted     = "corrupted"
	ResultValid         = "valid"
	ResultInvalid       = "invalid"
	ResultIndeterminate = "indeterminate"
)

// Kinds of signature in a Report.
const (
	KindSupplier = "supplier" // the intermediary's signature on the response we received
	KindVHN      = "vhn"      // the sender's transport signature made with a beBPo VHN certificate
	KindClient   = "client"   // the sender's transport signature (ClientSignature), not a VHN
	KindContent  = "content"  // a content signature on a ContentContainer
)

// VHNText is what EGVP receivers print for a message with a valid VHN.
const VHNText = "Sicherer Übermittlungsweg aus einem besonderen Behördenpostfach."

// Report is the verification report (Prüfprotokoll) of one delivery.
type Report struct {
	CheckedAt  time.Time
	VHNPresent bool   // the sender's transport signature is a VHN, inspected ok by the intermediary, certificate valid
	VHNText    string // VHNText when VHNPresent
	Signatures []SignatureCheck
	Problems   []string // failures not tied to one signature (decryption, structure)
	// Certificates the checks used, kept as evidence beside the message.
	Certificates []ReportCertificate
}

// ReportCertificate is one certificate of a verification with its role:
// "originator" (cipher), "vhn" or "originator_signature", "addressee",
// "intermediary", "author" (content signer).
type ReportCertificate struct {
	Role string
	Cert *x509.Certificate
}

// addCert records c once.
func (r *Report) addCert(role string, c *x509.Certificate) {
	if c == nil {
		return
	}
	for _, e := range r.Certificates {
		if e.Role == role && e.Cert.Equal(c) {
			return
		}
	}
	r.Certificates = append(r.Certificates, ReportCertificate{Role: role, Cert: c})
}

// SignatureCheck is the check of one signature.
type SignatureCheck struct {
	Object       string // what is signed
	Kind         string // KindSupplier, KindVHN, KindClient, KindContent
	Integrity    string // ok|corrupted|indeterminate
	CertValidity string // valid|invalid|indeterminate
	CertType     string // advanced|qualified|accredited|unknown (intermediary's inspection), "" if none
	Signer       string
	Issuer       string
	Serial       string // hexadecimal
	SigningTime  time.Time
	CheckedAt    time.Time
	Detail       string
}

// Status is valid when every signature is intact and its certificate
// valid and there is no problem; invalid when anything failed;
// indeterminate otherwise.
func (r Report) Status() string {
	if len(r.Problems) > 0 {
		return ResultInvalid
	}
	status := ResultValid
	for _, s := range r.Signatures {
		switch {
		case s.Integrity == ResultCorrupted || s.CertValidity == ResultInvalid:
			return ResultInvalid
		case s.Integrity != ResultOK || s.CertValidity != ResultValid:
			status = ResultIndeterminate
		}
	}
	return status
}

func (r *Report) problem(s string) { r.Problems = append(r.Problems, s) }

// fromResult fills signer, issuer, serial and validity from a certs.Result.
func fromResult(c *SignatureCheck, res *certs.Result, cert *x509.Certificate, now time.Time) {
	c.CheckedAt = now
	switch {
	case res != nil:
		c.Signer, c.Issuer, c.Serial = res.Subject, res.Issuer, res.Serial
		if !res.CheckedAt.IsZero() {
			c.CheckedAt = res.CheckedAt
		}
		c.CertValidity = ResultInvalid
		if res.Valid {
			c.CertValidity = ResultValid
		} else if res.Error != "" {
			c.Detail = joinDetail(c.Detail, res.Error)
		}
	case cert != nil:
		c.Signer, c.Issuer, c.Serial = cert.Subject.String(), cert.Issuer.String(), cert.SerialNumber.Text(16)
		c.CertValidity = ResultIndeterminate
	default:
		c.CertValidity = ResultIndeterminate
	}
	if c.Signer == "" && cert != nil {
		c.Signer, c.Issuer, c.Serial = cert.Subject.String(), cert.Issuer.String(), cert.SerialNumber.Text(16)
	}
}

func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// capture is a key selector that remembers the certificate it was offered
// and the validation result, so that a failed check can still name the
// signer in the report. It hands on only what the validator accepted.
type capture struct {
	v    *certs.Validator
	res  *certs.Result
	cert *x509.Certificate
}

func (c *capture) SelectSigner(ctx context.Context, offered []*x509.Certificate) (*x509.Certificate, *certs.Result, error) {
	cert, res, err := c.v.SelectSigner(ctx, offered)
	c.res, c.cert = res, cert
	if cert == nil {
		for _, o := range offered {
			if !o.IsCA {
				c.cert = o
				break
			}
		}
	}
	return cert, res, err
}

// supplierCheck reports the intermediary's signature on the response, which
// the osci client verified before handing the delivery on.
func supplierCheck(v *osci.Verified, now time.Time) SignatureCheck {
	c := SignatureCheck{Object: "OSCI-Nachricht (Antwort des Intermediärs)", Kind: KindSupplier, Integrity: ResultOK}
	var res *certs.Result
	if v.Signature != nil {
		res = v.Signature.Certificate
	}
	fromResult(&c, res, v.Signer, now)
	return c
}

// containerChecks verifies the content signatures of one container.
func containerChecks(ctx context.Context, rc *osci.ReadContainer, val *certs.Validator, att xmlsec.AttachmentResolver, now time.Time) ([]SignatureCheck, []*x509.Certificate) {
	object := "Inhaltsdatencontainer " + rc.ID
	sel := &capture{v: val}
	vs, err := rc.VerifySignatures(ctx, sel, att)
	if err != nil {
		c := SignatureCheck{Object: object, Kind: KindContent, Detail: err.Error()}
		fromResult(&c, sel.res, sel.cert, now)
		switch {
		case errors.Is(err, xmlsec.ErrDigestMismatch), errors.Is(err, xmlsec.ErrBadSignature):
			c.Integrity = ResultCorrupted
		case errors.Is(err, xmlsec.ErrUntrustedKey), errors.Is(err, xmlsec.ErrWeakKey):
			c.Integrity, c.CertValidity = ResultIndeterminate, ResultInvalid
		default:
			c.Integrity = ResultIndeterminate
		}
		return []SignatureCheck{c}, []*x509.Certificate{sel.cert}
	}
	var out []SignatureCheck
	var signers []*x509.Certificate
	for _, v := range vs {
		c := SignatureCheck{Object: object, Kind: KindContent, Integrity: ResultOK}
		fromResult(&c, v.Certificate, v.Signer, now)
		out = append(out, c)
		signers = append(signers, v.Signer)
	}
	return out, signers
}

// senderCheck reports the sender's transport signature (ClientSignature of
// its storeDelivery). The intermediary verified it and reports the result
// as an Inspection on the process card; we validate the certificate again.
// For a beBPo sender (SAFE role egvp_bebpo) this signature is the VHN.
func senderCheck(ctx context.Context, sender osci.Certificates, card *osci.ProcessCardBundle, val *certs.Validator, bebpo bool, now time.Time) (SignatureCheck, bool) {
	c := SignatureCheck{Object: "OSCI-Nachricht des Absenders (Transportsignatur)", Kind: KindClient}
	if bebpo {
		c.Kind = KindVHN
	}
	cert := sender.Get(osci.SignatureOriginator)
	if cert == nil {
		c.Integrity, c.CertValidity, c.CheckedAt = ResultIndeterminate, ResultIndeterminate, now
		c.Detail = "the delivery names no signature certificate of the originator"
		return c, false
	}
	var others []*x509.Certificate
	for _, e := range sender {
		if e.Cert != cert {
			others = append(others, e.Cert)
		}
	}
	res, err := val.Validate(ctx, cert, others, certs.PurposeSignature)
	fromResult(&c, res, cert, now)
	if err != nil && res == nil {
		c.CertValidity, c.Detail = ResultInvalid, err.Error()
	}
	c.Integrity = ResultIndeterminate
	if in, ok := inspectionFor(card, cert); ok {
		c.Integrity = normalise(in.MathResult, ResultOK, ResultCorrupted)
		c.CertType = in.CertType
		c.SigningTime = in.Timestamp.Time
		c.Detail = joinDetail(c.Detail, "Prüfung des Intermediärs: Mathematik "+in.MathResult+", Zertifikat "+in.OfflineResult)
	} else {
		c.Detail = joinDetail(c.Detail, "no inspection of the intermediary for this certificate")
	}
	vhn := bebpo && c.Integrity == ResultOK && c.CertValidity == ResultValid
	return c, vhn
}

// oidUID is the LDAP userid attribute; VHN certificates carry the
// mailbox's SAFE-ID in it.
var oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// certSafeID returns the UID of cert's subject, or "".
func certSafeID(cert *x509.Certificate) string {
	if cert == nil {
		return ""
	}
	for _, n := range cert.Subject.Names {
		if n.Type.Equal(oidUID) {
			if s, ok := n.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}

func normalise(s, good, bad string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case good:
		return good
	case bad:
		return bad
	}
	return ResultIndeterminate
}

// inspectionFor finds the intermediary's inspection of cert, matched by
// issuer and serial number (decimal or hexadecimal, as peers write it).
func inspectionFor(card *osci.ProcessCardBundle, cert *x509.Certificate) (osci.Inspection, bool) {
	if card == nil {
		return osci.Inspection{}, false
	}
	for _, in := range card.Inspections {
		if sameSerial(in.SerialNumber, cert.SerialNumber) && (in.IssuerName == "" || sameName(in.IssuerName, cert.Issuer.String())) &&
			(in.SubjectName == "" || sameName(in.SubjectName, cert.Subject.String())) {
			return in, true
		}
	}
	return osci.Inspection{}, false
}

func sameSerial(s string, n *big.Int) bool {
	s = strings.TrimSpace(s)
	if d, ok := new(big.Int).SetString(s, 10); ok && d.Cmp(n) == 0 {
		return true
	}
	h, ok := new(big.Int).SetString(strings.TrimPrefix(strings.ToLower(s), "0x"), 16)
	return ok && h.Cmp(n) == 0
}

// sameName compares distinguished names loosely: peers order and space
// RDNs differently, so every RDN of one must appear in the other.
func sameName(a, b string) bool {
	norm := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, p := range strings.Split(s, ",") {
			m[strings.ToLower(strings.Join(strings.Fields(p), ""))] = true
		}
		return m
	}
	na, nb := norm(a), norm(b)
	if len(na) != len(nb) {
		return false
	}
	for k := range na {
		if !nb[k] {
			return false
		}
	}
	return true
}

// inspectionProblems lists the intermediary's negative findings.
func inspectionProblems(card *osci.ProcessCardBundle) []string {
	if card == nil {
		return nil
	}
	var out []string
	for _, in := range card.Inspections {
		if strings.EqualFold(in.MathResult, ResultCorrupted) || strings.EqualFold(in.OfflineResult, ResultInvalid) || strings.EqualFold(in.OnlineResult, "revoked") {
			out = append(out, "intermediary inspection of "+in.SubjectName+": mathematics "+in.MathResult+", certificate "+in.OfflineResult+" "+in.OnlineResult)
		}
	}
	return out
}
