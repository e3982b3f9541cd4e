package mailbox

import (
	"context"
	"encoding/xml"
	"io"
	"time"
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
	Sender              Party              `json:"sender"`
	OSCISubject         string             `json:"osciSubject,omitempty"`
	UserSubject         string             `json:"userSubject,omitempty"`
	CaseNumberSender    string             `json:"caseNumberSender,omitempty"`
	CaseNumberRecipient string             `json:"caseNumberRecipient,omitempty"`
	XJustizMessageID    string             `json:"xjustizMessageId,omitempty"`
	EEBRequested        bool               `json:"eebRequested"`
	Report              VerificationReport `json:"report"`
}

// Party is a sender or recipient as the business card (Visitenkarte) names it.
type Party struct {
	SafeID       string `json:"safeId" xml:"SafeId"`
	Name         string `json:"name,omitempty" xml:"Name,omitempty"`
	Organisation string `json:"organisation,omitempty" xml:"Organisation,omitempty"`
}

// Check results, as in OSCI Inspection and the EGVP Prüfprotokoll.
const (
	ResultOK            = "ok"
	ResultCorrupted     = "corrupted"
	ResultValid         = "valid"
	ResultInvalid       = "invalid"
	ResultIndeterminate = "indeterminate"
)

// VerificationReport is the outcome of checking one delivery (the
// Prüfprotokoll). The osci package fills it; the intake renders it.
type VerificationReport struct {
	CheckedAt  time.Time        `json:"checkedAt"`
	VHNPresent bool             `json:"vhnPresent"`         // beBPo transport signature (vertrauenswürdiger Herkunftsnachweis) present and checked
	VHNText    string           `json:"vhnText,omitempty"`  // e.g. "Sicherer Übermittlungsweg aus einem besonderen Behördenpostfach."
	Signatures []SignatureCheck `json:"signatures"`         // every signature found
	Problems   []string         `json:"problems,omitempty"` // failures not tied to one signature (decryption, structure)
	// Certificates are the certificates the checks used (the sender's, the
	// VHN, the intermediary's), kept as evidence beside the message.
	Certificates []ReportCertificate `json:"certificates,omitempty"`
}

// ReportCertificate is one certificate of a verification, DER-encoded.
type ReportCertificate struct {
	Role string `json:"role"` // "originator", "addressee", "vhn", "intermediary", "author"
	DER  []byte `json:"der"`
}

// SignatureCheck is the check of one signature.
type SignatureCheck struct {
	Object       string    `json:"object" xml:"Objekt"`                               // what is signed: "OSCI-Nachricht", "Inhaltsdatencontainer project_coco", "001_Antrag.pdf"
	Kind         string    `json:"kind" xml:"Art"`                                    // "vhn", "client", "supplier", "content", "document"
	Integrity    string    `json:"integrity" xml:"Integritaet"`                       // ok|corrupted|indeterminate
	CertValidity string    `json:"certValidity" xml:"Zertifikat"`                     // valid|invalid|indeterminate
	CertType     string    `json:"certType,omitempty" xml:"Zertifikatstyp,omitempty"` // advanced|qualified|accredited|unknown
	Signer       string    `json:"signer" xml:"Signierer"`
	Issuer       string    `json:"issuer" xml:"Aussteller"`
	Serial       string    `json:"serial" xml:"Seriennummer"`
	SigningTime  time.Time `json:"signingTime,omitzero" xml:"Signaturzeitpunkt,omitempty"`
	CheckedAt    time.Time `json:"checkedAt" xml:"Pruefzeitpunkt"`
	Detail       string    `json:"detail,omitempty" xml:"Hinweis,omitempty"`
}

// Status is the overall result: invalid when any signature is corrupted or
// its certificate invalid or a problem was recorded; indeterminate when
// any check was indeterminate or no signature was found; valid otherwise.
func (r VerificationReport) Status() string {
	if len(r.Problems) > 0 {
		return ResultInvalid
	}
	status := ResultValid
	if len(r.Signatures) == 0 {
		status = ResultIndeterminate
	}
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
}

// IntakeMetadata is metadata.json and metadata.xml of an intake entry.
type IntakeMetadata struct {
	XMLName             xml.Name       `json:"-" xml:"urn:bebpo-gateway:intake:1 Eingang"`
	Version             string         `json:"version" xml:"version,attr"`
	MessageID           string         `json:"messageId" xml:"MessageId"`
	Mailbox             string         `json:"recipientMailbox" xml:"EmpfaengerPostfach"`
	Sender              Party          `json:"sender" xml:"Absender"`
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
	VHNPresent          bool           `json:"vhnPresent" xml:"VHNVorhanden"`
	SameContentAs       string         `json:"sameContentAs,omitempty" xml:"GleicherInhaltWie,omitempty"` // MessageId of an earlier message to the mailbox with the same documents
	Documents           []DocumentMeta `json:"documents" xml:"Dokumente>Dokument"`
}

// DocumentMeta describes one document of an intake entry.
type DocumentMeta struct {
	FileName     string `json:"fileName" xml:"Dateiname"`
	OriginalName string `json:"originalName" xml:"OriginalDateiname"`
	Size         int64  `json:"size" xml:"Groesse"`
	SHA256       string `json:"sha256" xml:"SHA256"`
	ContentType  string `json:"contentType" xml:"Typ"`
}
