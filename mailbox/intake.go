package mailbox

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
)

// Intake hands received messages to the eAkte (elektronische Akte). A sink
// returns nil only when the message is durably and completely with the
// receiver; handing the same message over again must not create a second
// entry (the MessageId is the idempotency key).
type Intake interface {
	Name() string
	Deliver(ctx context.Context, m *IntakeMessage) (IntakeRecord, error)
}

// IncomingMeta is what the fetch side learned about a delivery. The engine
// stores it as JSON with the message; the intake renders it.
type IncomingMeta struct {
	Sender              SenderIdentity     `json:"sender"`
	OSCISubject         string             `json:"osciSubject,omitempty"`
	UserSubject         string             `json:"userSubject,omitempty"`
	CaseNumberSender    string             `json:"caseNumberSender,omitempty"`
	CaseNumberRecipient string             `json:"caseNumberRecipient,omitempty"`
	XJustizMessageID    string             `json:"xjustizMessageId,omitempty"`
	EEBRequested        bool               `json:"eebRequested"`
	Report              VerificationReport `json:"report"`
}

// SenderIdentity is who sent a received message, in two parts that are never
// mixed: Confirmed holds only what a verified certificate says, Claimed
// only what the sender wrote about itself (its business card,
// Visitenkarte), which nobody checked.
type SenderIdentity struct {
	Confirmed ConfirmedSender `json:"confirmed" xml:"Bestaetigt"`
	Claimed   Party           `json:"claimed" xml:"AngabenDesAbsenders"`
}

// UnmarshalJSON also reads the flat sender of metadata stored before the
// split ({"safeId":…,"name":…}): it was the business card, so it becomes
// the claim.
func (s *SenderIdentity) UnmarshalJSON(b []byte) error {
	var v struct {
		Confirmed *ConfirmedSender `json:"confirmed"`
		Claimed   *Party           `json:"claimed"`
		Party
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = SenderIdentity{}
	if v.Confirmed != nil {
		s.Confirmed = *v.Confirmed
	}
	if v.Claimed != nil {
		s.Claimed = *v.Claimed
	} else if v.Confirmed == nil {
		s.Claimed = v.Party
	}
	return nil
}

// MarshalXML writes the claims with bestaetigt="nein", so that no reader
// of metadata.xml takes them for confirmed.
func (s SenderIdentity) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return e.EncodeElement(struct {
		Confirmed ConfirmedSender `xml:"Bestaetigt"`
		Claimed   claimedXML      `xml:"AngabenDesAbsenders"`
	}{s.Confirmed, claimedXML{Bestaetigt: "nein", Party: s.Claimed}}, start)
}

// ConfirmedSender is what the sender's verified transport signature
// certificate says. Empty fields are not confirmed.
type ConfirmedSender struct {
	SafeID      string `json:"safeId,omitempty" xml:"SafeId,omitempty"`          // the certificate's subject UID
	RoleID      string `json:"roleId,omitempty" xml:"RollenId,omitempty"`        // egvp_bebpo when it is a VHN certificate
	Certificate string `json:"certificate,omitempty" xml:"Zertifikat,omitempty"` // the certificate's subject
	Issuer      string `json:"issuer,omitempty" xml:"Aussteller,omitempty"`      // and issuer
	TrustedFor  string `json:"trustedFor,omitempty" xml:"GeprueftAls,omitempty"` // the trust set that verified it: "vhn" or "content-signer"
}

// Party is a sender as its business card (Visitenkarte) names it.
type Party struct {
	SafeID       string `json:"safeId" xml:"SafeId"`
	RoleID       string `json:"roleId,omitempty" xml:"RollenId,omitempty"`
	Name         string `json:"name,omitempty" xml:"Name,omitempty"`
	Organisation string `json:"organisation,omitempty" xml:"Organisation,omitempty"`
}

// Reason codes the mailbox itself gives; the verifier's own codes (e.g.
// sender_identity_mismatch) arrive in VerificationReport.Reason.
const (
	ReasonVerificationFailed = "verification_failed"
	ReasonMetadataUnreadable = "metadata_unreadable"
)

// VerificationReport is the outcome of checking one delivery (the
// Prüfprotokoll). The verifier fills it, its verdict included; the
// mailbox stores it, acts on the stored verdict and renders it, and never
// judges the signatures itself.
type VerificationReport struct {
	CheckedAt time.Time `json:"checkedAt"`
	// Verdict is the verifier's overall result (valid, invalid,
	// indeterminate), Reason its code and ReasonText its German wording.
	Verdict    string           `json:"verdict"`
	Reason     string           `json:"reason,omitempty"`
	ReasonText string           `json:"reasonText,omitempty"`
	VHNPresent bool             `json:"vhnPresent"`         // beBPo transport signature (vertrauenswürdiger Herkunftsnachweis) present and checked
	VHNText    string           `json:"vhnText,omitempty"`  // e.g. "Sicherer Übermittlungsweg aus einem besonderen Behördenpostfach."
	Signatures []SignatureCheck `json:"signatures"`         // every signature found
	Contents   []ContentCheck   `json:"contents,omitempty"` // every content, signed or not
	Problems   []string         `json:"problems,omitempty"` // failures not tied to one signature (decryption, structure)
	// Notes say what is unusual but no failure, e.g. "Inhalt nicht
	// Ende-zu-Ende verschlüsselt", "keine EGVP-Nachricht" (German).
	Notes []string `json:"notes,omitempty"`
	// SenderConflicts are sender claims that a verified certificate or the
	// directory contradicts; SenderNotes say what could not be confirmed.
	SenderConflicts []string `json:"senderConflicts,omitempty"`
	SenderNotes     []string `json:"senderNotes,omitempty"`
	// DocumentVerdict is the verifier's result over the signatures on the
	// documents themselves (SignatureKindDocument; "" when there are
	// none), with its German wording. It is the authors' signatures', not
	// the delivery's: it changes Verdict only where the mailbox's policy
	// says so, and the verifier then gives its own reason.
	DocumentVerdict     string `json:"documentVerdict,omitempty"`
	DocumentVerdictText string `json:"documentVerdictText,omitempty"`
	// Certificates are the certificates the checks used (the sender's, the
	// VHN, the intermediary's), kept as evidence beside the message.
	Certificates []ReportCertificate `json:"certificates,omitempty"`
}

// ReportCertificate is one certificate of a verification, DER-encoded.
type ReportCertificate struct {
	Role string `json:"role"` // "originator", "addressee", "vhn", "intermediary", "author"
	DER  []byte `json:"der"`
}

// SignatureKindDocument is the Kind of a signature on a document itself
// (a detached .p7s, or one inside a PDF): the author's, not the
// transport's.
const SignatureKindDocument = "document"

// SignatureCheck is the check of one signature.
type SignatureCheck struct {
	Object       string    `json:"object" xml:"Objekt"`                               // what is signed: "OSCI-Nachricht", "Inhaltsdatencontainer project_coco", "001_Antrag.pdf"
	Kind         string    `json:"kind" xml:"Art"`                                    // "vhn", "client", "supplier", "content", SignatureKindDocument
	Integrity    string    `json:"integrity" xml:"Integritaet"`                       // ok|corrupted|indeterminate
	CertValidity string    `json:"certValidity" xml:"Zertifikat"`                     // valid|invalid|indeterminate
	CertType     string    `json:"certType,omitempty" xml:"Zertifikatstyp,omitempty"` // advanced|qualified|accredited|unknown
	Signer       string    `json:"signer" xml:"Signierer"`
	Issuer       string    `json:"issuer" xml:"Aussteller"`
	Serial       string    `json:"serial" xml:"Seriennummer"`
	SigningTime  time.Time `json:"signingTime,omitzero" xml:"Signaturzeitpunkt,omitempty"`
	CheckedAt    time.Time `json:"checkedAt" xml:"Pruefzeitpunkt"`
	Detail       string    `json:"detail,omitempty" xml:"Hinweis,omitempty"`
	// Document (SignatureKindDocument) is the delivered document the
	// signature is on (IncomingDocument.Name), and Result the verifier's
	// result of this signature: valid, invalid or indeterminate.
	Document string `json:"document,omitempty" xml:"Dokument,omitempty"`
	Result   string `json:"result,omitempty" xml:"Ergebnis,omitempty"`
}

// ContentCheck is one content of the delivery and the verified
// signatures that cover it.
type ContentCheck struct {
	Container string `json:"container"`
	Name      string `json:"name"`               // the content's Id as the sender wrote it
	Document  string `json:"document,omitempty"` // the name a delivered document carries (IncomingDocument.Name)
	Kind      string `json:"kind"`               // "document", "form", "stylesheet", "not-read"
	Delivered bool   `json:"delivered"`          // handed on, or read into the metadata
	Signed    bool   `json:"signed"`
	// Coverage says what covers it: "content-signature" or
	// "transport-signature" (the sender's transport signature, for a
	// container without content signatures).
	Coverage string   `json:"coverage,omitempty"`
	SignedBy []string `json:"signedBy,omitempty"`
}

// Status is the stored verdict. A report without one (stored before the
// verifier gave verdicts) or with an unknown one is indeterminate: never
// valid, never quarantined on a guess.
func (r VerificationReport) Status() string {
	switch r.Verdict {
	case checkresult.Valid, checkresult.Invalid, checkresult.Indeterminate:
		return r.Verdict
	}
	return checkresult.Indeterminate
}

// QuarantineReason is the code and German text a message quarantined for
// this report carries: the verifier's reason, else verification_failed.
func (r VerificationReport) QuarantineReason() (code, text string) {
	code, text = r.Reason, r.ReasonText
	if code == "" {
		code = ReasonVerificationFailed
	}
	if text == "" {
		text = strings.Join(r.Problems, "; ")
	}
	return code, text
}

// unreadableReport stands for a report the store returned unreadable: the
// message is quarantined rather than handed on unverified.
func unreadableReport(err error) VerificationReport {
	return VerificationReport{Verdict: checkresult.Invalid, Reason: ReasonMetadataUnreadable,
		ReasonText: "Die gespeicherten Metadaten sind nicht lesbar: " + err.Error()}
}

// DocumentSignature is whether verified signatures cover the delivered
// document name, how (Coverage) and by whom. A name the report does not
// list, or lists more than once with one of them unsigned, counts as
// unsigned.
func (r VerificationReport) DocumentSignature(name string) (signed bool, how string, by []string) {
	for _, c := range r.Contents {
		doc := c.Document
		if doc == "" {
			doc = c.Name // reports stored before documents were named apart
		}
		if c.Kind != "document" || !c.Delivered || doc != name {
			continue
		}
		if !c.Signed {
			return false, "", nil
		}
		if how != "" && how != c.Coverage {
			how = "mixed"
		} else {
			how = c.Coverage
		}
		signed, by = true, append(by, c.SignedBy...)
	}
	return signed, how, by
}

// DocumentSignatureResult is the verifier's result of the signatures on
// the delivered document name itself (detached or inside it): invalid
// when one is, else indeterminate when one is, else valid; "" when none
// is on it.
func (r VerificationReport) DocumentSignatureResult(name string) string {
	rank := map[string]int{checkresult.Valid: 1, checkresult.Indeterminate: 2, checkresult.Invalid: 3}
	out := ""
	for _, s := range r.Signatures {
		if s.Kind != SignatureKindDocument || s.Document != name {
			continue
		}
		res := s.Result
		if rank[res] == 0 {
			res = checkresult.Indeterminate // a result this version does not know is never valid
		}
		if rank[res] > rank[out] {
			out = res
		}
	}
	return out
}

// IntakeMessage is one received message ready for hand-over.
type IntakeMessage struct {
	Metadata  IntakeMetadata
	Report    VerificationReport
	Original  IntakeFile   // the OSCI message as received (evidence)
	Documents []IntakeFile // with sanitised, unique FileName
}

// IntakeFile is one file of an intake entry, read from the blob store.
type IntakeFile struct {
	FileName     string // sanitised, unique within the entry
	OriginalName string
	ContentType  string
	Size         int64
	SHA256       string
	Open         func() (io.ReadCloser, error)
	// Link, when not nil, makes a file of the local file system hold the
	// content without copying it (BlobLinker.LinkTo of a blob in the
	// folder store); ErrNotLinked when it cannot, and the sink copies.
	Link func(newname string) error
}

// IntakeMetadata is metadata.json and metadata.xml of an intake entry.
type IntakeMetadata struct {
	XMLName             xml.Name       `json:"-" xml:"urn:bebpo-gateway:intake:1 Eingang"`
	Version             string         `json:"version" xml:"version,attr"`
	MessageID           string         `json:"messageId" xml:"MessageId"`
	Mailbox             string         `json:"recipientMailbox" xml:"EmpfaengerPostfach"`
	Sender              SenderIdentity `json:"sender" xml:"Absender"`
	OSCISubject         string         `json:"osciSubject" xml:"OSCIBetreff"`
	UserSubject         string         `json:"userSubject" xml:"Betreff"`
	CaseNumberSender    string         `json:"caseNumberSender" xml:"AktenzeichenAbsender"`
	CaseNumberRecipient string         `json:"caseNumberRecipient" xml:"AktenzeichenEmpfaenger"`
	XJustizMessageID    string         `json:"xjustizMessageId,omitempty" xml:"XJustizNachrichtenId,omitempty"`
	EEBRequested        bool           `json:"eebRequested" xml:"EEBAngefordert"`
	Creation            string         `json:"creation,omitempty" xml:"Laufzettel>Eingang,omitempty"`
	Forwarding          string         `json:"forwarding,omitempty" xml:"Laufzettel>Weiterleitung,omitempty"`
	Reception           string         `json:"reception,omitempty" xml:"Laufzettel>Abholung,omitempty"`
	StoredAt            string         `json:"storedAt" xml:"GespeichertAm"`
	OriginalSHA256      string         `json:"originalSha256" xml:"OriginalSHA256"`
	VerificationStatus  string         `json:"verificationStatus" xml:"Pruefergebnis"`
	VerificationReason  string         `json:"verificationReason,omitempty" xml:"PruefergebnisGrund,omitempty"`
	VHNPresent          bool           `json:"vhnPresent" xml:"VHNVorhanden"`
	// DocumentSignatureStatus is VerificationReport.DocumentVerdict: the
	// result over the signatures on the documents themselves, "" when
	// there are none.
	DocumentSignatureStatus string         `json:"documentSignatureStatus,omitempty" xml:"DokumentsignaturErgebnis,omitempty"`
	SameContentAs           string         `json:"sameContentAs,omitempty" xml:"GleicherInhaltWie,omitempty"` // MessageId of an earlier message to the mailbox with the same documents
	Notes                   NoteList       `json:"notes,omitempty" xml:"Hinweise"`                            // what the verification found unusual, no failure (German)
	Documents               []DocumentMeta `json:"documents" xml:"Dokumente>Dokument"`
	// Route names the routing rule that chose the intake ("default" when
	// none matched); empty where nothing routed the entry.
	Route string `json:"route,omitempty" xml:"Regel,omitempty"`
}

// NoteList is notes of the verification (German). In XML it is one
// Hinweis element per note inside its own element, and nothing when empty.
type NoteList []string

// MarshalXML writes the notes, or nothing when there are none.
func (n NoteList) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if len(n) == 0 {
		return nil
	}
	return e.EncodeElement(struct {
		Hinweis []string `xml:"Hinweis"`
	}{n}, start)
}

// DocumentMeta describes one document of an intake entry.
type DocumentMeta struct {
	FileName     string `json:"fileName" xml:"Dateiname"`
	OriginalName string `json:"originalName" xml:"OriginalDateiname"`
	Size         int64  `json:"size" xml:"Groesse"`
	SHA256       string `json:"sha256" xml:"SHA256"`
	ContentType  string `json:"contentType" xml:"Typ"`
	// Signed: verified content signatures cover the document; SignedBy
	// names their certificates' subjects.
	Signed bool `json:"signed" xml:"Signiert"`
	// Coverage: "content-signature" or "transport-signature" (the
	// sender's transport signature covers a container without content
	// signatures).
	Coverage string   `json:"coverage,omitempty" xml:"SigniertDurch,omitempty"`
	SignedBy []string `json:"signedBy,omitempty" xml:"SigniertVon,omitempty"`
	// DocumentSignature is the result of the signatures on the document
	// itself (VerificationReport.DocumentSignatureResult): "" when it
	// carries none.
	DocumentSignature string `json:"documentSignature,omitempty" xml:"Dokumentsignatur,omitempty"`
}
