package egvp

import (
	"crypto/x509"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
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
// Verdict is the one place that turns it into an overall result.
type Report struct {
	CheckedAt time.Time
	// VHNPresent: the sender's transport signature certificate is a VHN
	// certificate (its CA is in the VHN trust set), the intermediary
	// inspected the signature as intact, and the SAFE-ID in the
	// certificate is the sender identity the message claims.
	VHNPresent bool
	VHNText    string // VHNText when VHNPresent
	// Sender keeps apart what verified certificates confirm about the
	// sender and what the sender only claims.
	Sender     SenderIdentity
	Signatures []SignatureCheck
	// Contents lists every Content of every container read, with what
	// covers it; a delivered one that no verified content signature
	// covers is unsigned.
	Contents []ContentCheck
	Problems []string // failures not tied to one signature (decryption, structure)
	// Certificates the checks used, kept as evidence beside the message.
	Certificates []ReportCertificate
}

// SenderIdentity is who sent a delivery, in two parts that are never
// mixed: Confirmed holds only what a verified certificate says, Claimed
// only what the sender wrote about itself.
type SenderIdentity struct {
	Confirmed ConfirmedSender
	Claimed   ClaimedSender
	// Conflicts are claims that a verified certificate or the directory
	// contradicts (German); any conflict makes the verdict invalid with
	// ReasonSenderMismatch.
	Conflicts []string
	// Notes say why something could not be confirmed (German).
	Notes []string
}

// ConfirmedSender is what the verified transport signature certificate
// says about the sender. Empty fields are not confirmed.
type ConfirmedSender struct {
	SafeID     string    // the certificate's subject UID
	RoleID     string    // RoleBeBPo when the certificate is a VHN certificate
	Subject    string    // the certificate's subject
	Issuer     string    // and issuer
	TrustedFor certs.Use // the trust set that verified it (UseVHN, UseContentSigner); 0: nothing confirmed
}

// ClaimedSender is what the sender wrote about itself and nobody checked:
// the business card (visitenkarte.xml) and additional_infos user_id.
type ClaimedSender struct {
	Card   BusinessCard
	UserID string // additional_infos user_id
}

// SafeID is the SAFE-ID the message claims: the card's Nutzer_ID, else
// additional_infos user_id.
func (c ClaimedSender) SafeID() string {
	if c.Card.UserID != "" {
		return c.Card.UserID
	}
	return c.UserID
}

// ContentCheck is one osci:Content and what covers it.
type ContentCheck struct {
	Container string
	Name      string // the Content Id as the sender wrote it ("" when it has none)
	Kind      string // ContentDocument, ContentForm, ContentStylesheet, ContentNotRead
	// Delivered: handed on (documents) or read into the metadata (forms).
	Delivered bool
	// Signed: every verified content signature of the container covers it
	// (its Id and, for an attachment, its octets); SignedBy names their
	// certificates' subjects.
	Signed   bool
	SignedBy []string
}

// Kinds of content in a Report.
const (
	ContentDocument   = "document"   // handed on as a file
	ContentForm       = "form"       // nachricht.xml, visitenkarte.xml, herstellerinformation.xml, additional_infos
	ContentStylesheet = "stylesheet" // nachricht.xsl, visitenkarte.xsl: presentation only, not read
	ContentNotRead    = "not-read"   // in a nested or unknown container: not read, not handed on
)

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

// Reasons a verdict gives (Verdict.Reason), as the mailbox stores them.
const (
	// ReasonSenderMismatch: a claim of the sender contradicts its verified
	// certificate or the directory.
	ReasonSenderMismatch = "sender_identity_mismatch"
	// ReasonVerificationFailed: a signature is corrupted, a certificate
	// invalid, or the delivery could not be read completely.
	ReasonVerificationFailed = "verification_failed"
	// ReasonNoSignature: nothing is signed at all.
	ReasonNoSignature = "no_signature"
	// ReasonCheckIndeterminate: a check could not reach a result.
	ReasonCheckIndeterminate = "check_indeterminate"
	// ReasonUnsignedContent: something delivered is covered by no verified
	// content signature.
	ReasonUnsignedContent = "unsigned_content"
)

// Verdict is the overall result of a Report.
type Verdict struct {
	Status string // ResultValid, ResultInvalid or ResultIndeterminate
	Reason string // one of the Reason constants; "" when valid
	Text   string // German, for the Prüfprotokoll and a quarantine note
}

// Verdict is the one rule for the overall result. Invalid: a sender claim
// contradicts a certificate or the directory (ReasonSenderMismatch), or a
// problem was recorded, a signature is corrupted or its certificate
// invalid (ReasonVerificationFailed). Indeterminate: no signature at all,
// a check without result, or anything delivered that no verified content
// signature covers. Valid otherwise, and only then.
func (r Report) Verdict() Verdict {
	if len(r.Sender.Conflicts) > 0 {
		return Verdict{ResultInvalid, ReasonSenderMismatch,
			"Die Angaben des Absenders widersprechen seinem geprüften Zertifikat oder dem Verzeichnis: " + strings.Join(r.Sender.Conflicts, "; ")}
	}
	failed := append([]string(nil), r.Problems...)
	var open []string
	for _, s := range r.Signatures {
		switch {
		case s.Integrity == ResultCorrupted || s.CertValidity == ResultInvalid:
			failed = append(failed, s.Object+": Integrität "+s.Integrity+", Zertifikat "+s.CertValidity)
		case s.Integrity != ResultOK || s.CertValidity != ResultValid:
			open = append(open, s.Object+": Integrität "+s.Integrity+", Zertifikat "+s.CertValidity)
		}
	}
	if len(failed) > 0 {
		return Verdict{ResultInvalid, ReasonVerificationFailed, "Mindestens eine Prüfung ist fehlgeschlagen: " + strings.Join(failed, "; ")}
	}
	if len(r.Signatures) == 0 {
		return Verdict{ResultIndeterminate, ReasonNoSignature, "Die Nachricht trägt keine Signatur."}
	}
	if len(open) > 0 {
		return Verdict{ResultIndeterminate, ReasonCheckIndeterminate, "Mindestens eine Prüfung lieferte kein Ergebnis: " + strings.Join(open, "; ")}
	}
	var unsigned []string
	for _, c := range r.Contents {
		if c.Delivered && !c.Signed {
			name := c.Name
			if name == "" {
				name = "(ohne Namen)"
			}
			unsigned = append(unsigned, c.Container+"/"+name)
		}
	}
	if len(unsigned) > 0 {
		return Verdict{ResultIndeterminate, ReasonUnsignedContent,
			"Nicht von einer geprüften Inhaltssignatur erfasst: " + strings.Join(unsigned, ", ")}
	}
	return Verdict{ResultValid, "", "Sämtliche durchgeführten Prüfungen lieferten ein positives Ergebnis."}
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
