package egvp

import (
	"crypto/x509"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
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
	// covers it; a delivered one that nothing covers is unsigned.
	Contents []ContentCheck
	Problems []string // failures not tied to one signature (decryption, structure)
	// Inspections are the intermediary's negative findings on the
	// certificates of the delivery (its Inspection reports).
	Inspections []InspectionFinding
	// Notes report what is unusual but no failure (German, NoteNotEndToEnd,
	// NoteNotEGVP); they never change the verdict.
	Notes []string
	// Policy lists what breaks the mailbox's policy (German); any entry
	// makes the verdict invalid with ReasonPolicyEndToEnd.
	Policy []string
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

// InspectionFinding is one negative inspection of the intermediary.
type InspectionFinding struct {
	Corrupted bool   // the signature's mathematics failed; else the certificate is invalid or revoked
	Text      string // German
}

// ContentCheck is one osci:Content and what covers it.
type ContentCheck struct {
	Container string
	Name      string // the Content Id as the sender wrote it ("" when it has none)
	// Document is the name a delivered document is handed on under
	// (ReceivedDocument.Name); "" for forms and what was not delivered.
	Document string
	Kind     string // ContentDocument, ContentForm, ContentStylesheet, ContentNotRead
	// Delivered: handed on (documents) or read into the metadata (forms).
	Delivered bool
	// Signed: a verified signature covers it; Coverage says which
	// (CoverContent: every verified content signature naming its Id and,
	// for an attachment, its octets; CoverTransport: the sender's
	// transport signature, for a container without content signatures).
	// SignedBy names the certificates' subjects.
	Signed   bool
	Coverage string
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

// Reasons a verdict gives (Verdict.Reason), as the mailbox stores them
// (a quarantined message's code). Each says one thing.
const (
	// ReasonSenderMismatch: a claim of the sender contradicts its verified
	// certificate or the directory.
	ReasonSenderMismatch = "sender_identity_mismatch"
	// ReasonSignatureInvalid: a signature does not verify: what it signs
	// was altered, or its mathematics fail.
	ReasonSignatureInvalid = "signature_invalid"
	// ReasonCertificateInvalid: a signature's certificate is not valid:
	// expired, not yet valid, revoked, of the wrong key usage, weak.
	ReasonCertificateInvalid = "certificate_invalid"
	// ReasonFormatUnreadable: the delivery or a part of it could not be
	// decrypted or read (a document, a form, the content package).
	ReasonFormatUnreadable = "format_unreadable"
	// ReasonPolicyEndToEnd: the mailbox requires end-to-end encryption
	// (Reader.RequireEndToEnd) and a container was only transport-encrypted.
	ReasonPolicyEndToEnd = "policy_end_to_end_required"
	// ReasonNoSignature: nothing is signed at all.
	ReasonNoSignature = "no_signature"
	// ReasonCheckIndeterminate: a check could not reach a result (a
	// certificate that chains to no configured CA, revocation unknown).
	ReasonCheckIndeterminate = "check_indeterminate"
	// ReasonUnsignedContent: something delivered is covered by no verified
	// signature.
	ReasonUnsignedContent = "unsigned_content"
)

// Verdict is the overall result of a Report.
type Verdict struct {
	Status string // checkresult.Valid, checkresult.Invalid or checkresult.Indeterminate
	Reason string // one of the Reason constants; "" when valid
	Text   string // German, for the Prüfprotokoll and a quarantine note
}

// Verdict is the one rule for the overall result, first match wins.
// Invalid: a sender claim contradicts a certificate or the directory
// (ReasonSenderMismatch); a signature is corrupted (ReasonSignatureInvalid);
// a certificate is invalid (ReasonCertificateInvalid); something could not
// be read (ReasonFormatUnreadable); the mailbox's policy is broken
// (ReasonPolicyEndToEnd). Indeterminate: no signature at all, a check
// without result, or anything delivered that no verified signature covers.
// Valid otherwise, and only then. Notes never change it.
func (r Report) Verdict() Verdict {
	if len(r.Sender.Conflicts) > 0 {
		return Verdict{checkresult.Invalid, ReasonSenderMismatch,
			"Die Angaben des Absenders widersprechen seinem geprüften Zertifikat oder dem Verzeichnis: " + strings.Join(r.Sender.Conflicts, "; ")}
	}
	var corrupted, badCert, open []string
	for _, f := range r.Inspections {
		if f.Corrupted {
			corrupted = append(corrupted, f.Text)
		} else {
			badCert = append(badCert, f.Text)
		}
	}
	for _, s := range r.Signatures {
		state := s.Object + ": Integrität " + s.Integrity + ", Zertifikat " + s.CertValidity
		switch {
		case s.Integrity == checkresult.Corrupted:
			corrupted = append(corrupted, state)
		case s.CertValidity == checkresult.Invalid:
			badCert = append(badCert, state)
		case s.Integrity != checkresult.OK || s.CertValidity != checkresult.Valid:
			open = append(open, state)
		}
	}
	switch {
	case len(corrupted) > 0:
		return Verdict{checkresult.Invalid, ReasonSignatureInvalid, "Mindestens eine Signatur ist verletzt; das Signierte wurde verändert: " + strings.Join(corrupted, "; ")}
	case len(badCert) > 0:
		return Verdict{checkresult.Invalid, ReasonCertificateInvalid, "Mindestens ein Zertifikat ist ungültig (abgelaufen, gesperrt, falsche Verwendung oder zu schwach): " + strings.Join(badCert, "; ")}
	case len(r.Problems) > 0:
		return Verdict{checkresult.Invalid, ReasonFormatUnreadable, "Die Nachricht konnte nicht vollständig gelesen werden: " + strings.Join(r.Problems, "; ")}
	case len(r.Policy) > 0:
		return Verdict{checkresult.Invalid, ReasonPolicyEndToEnd, "Die Nachricht verletzt die Vorgabe des Postfachs: " + strings.Join(r.Policy, "; ")}
	case len(r.Signatures) == 0:
		return Verdict{checkresult.Indeterminate, ReasonNoSignature, "Die Nachricht trägt keine Signatur."}
	case len(open) > 0:
		return Verdict{checkresult.Indeterminate, ReasonCheckIndeterminate, "Mindestens eine Prüfung lieferte kein Ergebnis: " + strings.Join(open, "; ")}
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
		return Verdict{checkresult.Indeterminate, ReasonUnsignedContent,
			"Nicht von einer geprüften Signatur erfasst: " + strings.Join(unsigned, ", ")}
	}
	return Verdict{checkresult.Valid, "", "Sämtliche durchgeführten Prüfungen lieferten ein positives Ergebnis."}
}

func (r *Report) problem(s string) { r.Problems = append(r.Problems, s) }

func (r *Report) note(s string) { r.Notes = append(r.Notes, s) }

// fromResult fills signer, issuer, serial and validity from a certs.Result.
func fromResult(c *SignatureCheck, res *certs.Result, cert *x509.Certificate, now time.Time) {
	c.CheckedAt = now
	switch {
	case res != nil:
		c.Signer, c.Issuer, c.Serial = res.Subject, res.Issuer, res.Serial
		if !res.CheckedAt.IsZero() {
			c.CheckedAt = res.CheckedAt
		}
		c.CertValidity = checkresult.Invalid
		if res.Valid {
			c.CertValidity = checkresult.Valid
		} else if res.Error != "" {
			c.Detail = joinDetail(c.Detail, res.Error)
		}
	case cert != nil:
		c.Signer, c.Issuer, c.Serial = certs.DN(cert.Subject), certs.DN(cert.Issuer), cert.SerialNumber.Text(16)
		c.CertValidity = checkresult.Indeterminate
	default:
		c.CertValidity = checkresult.Indeterminate
	}
	if c.Signer == "" && cert != nil {
		c.Signer, c.Issuer, c.Serial = certs.DN(cert.Subject), certs.DN(cert.Issuer), cert.SerialNumber.Text(16)
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
	c := SignatureCheck{Object: "OSCI-Nachricht (Antwort des Intermediärs)", Kind: KindSupplier, Integrity: checkresult.OK}
	var res *certs.Result
	if v.Signature != nil {
		res = v.Signature.Certificate
	}
	fromResult(&c, res, v.Signer, now)
	return c
}
