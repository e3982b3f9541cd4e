// Package submit is the one path by which outgoing messages enter the
// gateway: the admin API, the outgoing folder and the CLI (through the
// API) all use it. A submission is validated (sending mailbox, recipient
// and its cipher certificate, texts, ERVB file names, limits), the
// recipient resolved once here (by SAFE-ID, or by court code to the one
// address book entry with it) and pinned with its certificate and the
// name of its intermediary into the outgoing metadata, then handed
// over in two phases: Begin, AddDocument for each document (streamed into
// the blob store, limits checked while streaming), and Commit or Abort.
// Guarantee: nothing is visible to a worker and nothing is acknowledged
// before Commit returned, which is after the documents and the message row
// are durable; a refused or broken submission leaves neither a row nor a
// temporary file; a repeated idempotency key returns the first message.
// Refusals are field.Errors naming the field and matching a sentinel of
// this package or of addressbook.
package submit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"path/filepath"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/courts"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/docsig"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/ervb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/safeid"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/limit"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Refusals of a submission, wrapped in a field.Error naming the field.
var (
	ErrUnknownRecipient    = errors.New("submit: recipient not in the address book")
	ErrBadFileName         = errors.New("submit: file name breaks the ERVB rules")
	ErrDuplicateFileName   = errors.New("submit: file name used twice")
	ErrTooManyFiles        = errors.New("submit: too many files")
	ErrMessageTooLarge     = errors.New("submit: message too large")
	ErrNoDocuments         = errors.New("submit: message without documents")
	ErrUnknownMailbox      = errors.New("submit: unknown mailbox")
	ErrIdempotencyConflict = errors.New("submit: idempotency key used for another message")
	ErrAmbiguousRecipient  = errors.New("submit: court code of more than one address book entry")
)

// MessageRequest is what a caller hands in to send a message: the JSON
// part "message" of POST /v1/messages and the message.json of an
// outgoing-folder submission.
type MessageRequest struct {
	// Mailbox is our sending mailbox (configured name); default the first.
	Mailbox string `json:"mailbox,omitempty"`
	// To is the recipient's SAFE-ID. Without RecipientCert it must be in
	// the address book.
	To string `json:"to,omitempty"`
	// Court is the recipient's court code (GDS.Gerichte, e.g. F1100)
	// instead of To: the address book must hold exactly one entry with
	// it. Given with To, both must name the same entry.
	Court string `json:"court,omitempty"`
	// RecipientCert is the recipient's cipher certificate (PEM), for a
	// recipient not in the address book; RecipientIntermediary is then
	// the configured name of its intermediary (default: the sending
	// mailbox's own). RecipientIntermediaryURL is the form of earlier
	// versions: the configured intermediary at that URL.
	RecipientCert            string `json:"recipientCert,omitempty"`
	RecipientIntermediary    string `json:"recipientIntermediary,omitempty"`
	RecipientIntermediaryURL string `json:"recipientIntermediaryUrl,omitempty"`
	Subject                  string `json:"subject"`
	CaseNumberSender         string `json:"caseNumberSender,omitempty"`    // Aktenzeichen des Absenders
	CaseNumberRecipient      string `json:"caseNumberRecipient,omitempty"` // Aktenzeichen des Empfängers
	EEBRequested             bool   `json:"eebRequested,omitempty"`        // elektronisches Empfangsbekenntnis
	MessageType              string `json:"messageType,omitempty"`         // OSCI/EGVP Nachrichtentyp
	// DocumentClass is the GDS.Dokumentklasse code of the documents in
	// the XJustiz record built for a message to a court (default "015",
	// Schreiben; "003" is Klage / Antrag).
	DocumentClass string `json:"documentClass,omitempty"`
}

// DefaultMessageType is the EGVP message type of an ordinary message.
const DefaultMessageType = "Allgemeine Nachricht"

// OutgoingMeta is the sending metadata of an outgoing message beyond what
// the message row holds; it is what the send path needs on the wire.
type OutgoingMeta struct {
	MessageType          string `json:"messageType"`
	CaseNumberSender     string `json:"caseNumberSender,omitempty"`
	CaseNumberRecipient  string `json:"caseNumberRecipient,omitempty"`
	EEBRequested         bool   `json:"eebRequested,omitempty"`
	RecipientCert        string `json:"recipientCert"`
	RecipientFingerprint string `json:"recipientFingerprint"`
	// RecipientIntermediary is the configured name of the intermediary the
	// recipient lives at, resolved at submission: the message, its
	// MessageId and its process cards go there. Empty: the sending
	// mailbox's own. RecipientIntermediaryURL alone is what earlier
	// versions pinned instead; it is still read for messages they queued.
	// With RecipientIntermediaryCipherCert and
	// RecipientIntermediarySignatureCerts (PEM) it is an intermediary the
	// address book entry gives inline, not configured.
	RecipientIntermediary               string   `json:"recipientIntermediary,omitempty"`
	RecipientIntermediaryURL            string   `json:"recipientIntermediaryUrl,omitempty"`
	RecipientIntermediaryCipherCert     string   `json:"recipientIntermediaryCipherCert,omitempty"`
	RecipientIntermediarySignatureCerts []string `json:"recipientIntermediarySignatureCerts,omitempty"`
	// CourtCode is the recipient's court (GDS.Gerichte) when its address
	// book entry names one; XJustizMessageID is the eigeneNachrichtenID of
	// the message's XJustiz record, which a court's eEB answer names in
	// fremdeNachrichtenID.
	CourtCode        string `json:"courtCode,omitempty"`
	XJustizMessageID string `json:"xjustizMessageId,omitempty"`
}

// Limits are the ERVB limits for one message, checked while the
// documents stream in. Zero fields take the defaults.
type Limits struct {
	MaxFiles        int   // default 1000 (ERVB since 2023)
	MaxTotalBytes   int64 // all documents; default 200 MB (200,000,000 bytes)
	MaxMessageBytes int64 // the JSON message part; default 64 KiB
}

// WithDefaults fills the zero or negative fields.
func (l Limits) WithDefaults() Limits {
	return limit.Fill(l, Limits{MaxFiles: 1000, MaxTotalBytes: 200_000_000, MaxMessageBytes: 64 << 10})
}

// Submitter is the one path by which outgoing messages enter the store,
// shared by the API and the outgoing folder: validation, streaming of
// documents into the blob store, idempotency, enqueue.
type Submitter struct {
	store     mailbox.Store
	blobs     mailbox.BlobStore
	book      *addressbook.Book
	mailboxes []string
	senders   map[string]string
	limits    Limits
	now       func() time.Time
	codec     *xjustiz.Codec
	ervb      ervb.Checker
	docsig    func() (*docsig.Verifier, error)
}

// Config wires a Submitter.
type Config struct {
	Store       mailbox.Store
	Blobs       mailbox.BlobStore
	AddressBook *addressbook.Book
	Mailboxes   []string // our mailbox names; the first is the default
	// Senders names each mailbox's organisation as an XJustiz record's
	// sender (absender); a mailbox not listed is named by its name.
	Senders map[string]string
	Limits  Limits
	Now     func() time.Time
	Rand    io.Reader // UUIDs of XJustiz records; default crypto/rand
	// XJustiz builds and validates the records of messages to courts;
	// nil: the default generation.
	XJustiz *xjustiz.Codec
	// TempDir is where the pre-flight spools a document it must read
	// twice; default the system's.
	TempDir string
	// DocumentSignatures verifies the signatures of the documents of a
	// message to a court (a .p7s beside its document, those inside PDFs)
	// with the trust in force; a broken one refuses the message. Nil: not
	// checked before sending.
	DocumentSignatures func() (*docsig.Verifier, error)
}

// New builds a Submitter.
func New(c Config) (*Submitter, error) {
	if c.Store == nil || c.Blobs == nil || c.AddressBook == nil || len(c.Mailboxes) == 0 {
		return nil, errors.New("submit: submitter needs store, blobs, address book and mailboxes")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	s := &Submitter{store: c.Store, blobs: c.Blobs, book: c.AddressBook, mailboxes: c.Mailboxes, senders: c.Senders,
		limits: c.Limits.WithDefaults(), now: c.Now, codec: c.XJustiz, docsig: c.DocumentSignatures}
	s.ervb.Limits = ervb.Limits{MaxFiles: s.limits.MaxFiles, MaxBytes: s.limits.MaxTotalBytes}
	s.ervb.TempDir = c.TempDir
	if s.codec == nil {
		codec, err := xjustiz.New(xjustiz.Options{Now: c.Now, Rand: c.Rand})
		if err != nil {
			return nil, fmt.Errorf("submit: %w", err)
		}
		s.codec = codec
	}
	return s, nil
}

// Limits returns the effective limits.
func (s *Submitter) Limits() Limits { return s.limits }

// DecodeMessageRequest decodes a message part strictly (unknown fields are
// errors) from at most MaxMessageBytes.
func (s *Submitter) DecodeMessageRequest(r io.Reader) (MessageRequest, error) {
	data, err := io.ReadAll(io.LimitReader(r, s.limits.MaxMessageBytes+1))
	if err != nil {
		return MessageRequest{}, err
	}
	if int64(len(data)) > s.limits.MaxMessageBytes {
		return MessageRequest{}, field.Errorf(ErrMessageTooLarge, "message", "is larger than %d bytes", s.limits.MaxMessageBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var req MessageRequest
	if err := dec.Decode(&req); err != nil {
		return MessageRequest{}, field.Errorf(nil, "message", "is not a valid message object: %v", err)
	}
	if dec.More() {
		return MessageRequest{}, field.Errorf(nil, "message", "holds more than one JSON value")
	}
	return req, nil
}

// resolved is a checked request: whom to send to and how.
type resolved struct {
	mailbox, recipient, subject string
	meta                        OutgoingMeta
	court                       courts.Court // the recipient's court, when its entry has a court code
}

// Check validates a request and resolves its recipient; errors are
// field.Errors naming the field ("to", "subject", ...).
func (s *Submitter) Check(ctx context.Context, req MessageRequest) (resolved, error) {
	var r resolved
	r.mailbox = strings.TrimSpace(req.Mailbox)
	if r.mailbox == "" {
		r.mailbox = s.mailboxes[0]
	}
	known := false
	for _, m := range s.mailboxes {
		known = known || m == r.mailbox
	}
	if !known {
		return r, field.Errorf(ErrUnknownMailbox, "mailbox", "%q is not one of ours (%s)", r.mailbox, strings.Join(s.mailboxes, ", "))
	}
	r.recipient = strings.TrimSpace(req.To)
	if strings.TrimSpace(req.Court) != "" {
		e, err := s.courtEntry(req)
		if err != nil {
			return r, err
		}
		r.recipient = e.SafeID
	}
	if !safeid.Valid(r.recipient) {
		return r, field.Errorf(nil, "to", "%q is not a SAFE-ID (e.g. %s)", r.recipient, safeid.Example)
	}
	r.subject = strings.TrimSpace(req.Subject)
	for _, c := range []struct {
		field, value string
		max          int
		required     bool
	}{
		{"subject", r.subject, 255, true},
		{"caseNumberSender", req.CaseNumberSender, 100, false},
		{"caseNumberRecipient", req.CaseNumberRecipient, 100, false},
		{"messageType", req.MessageType, 100, false},
	} {
		if err := field.Text(c.field, c.value, c.max, c.required); err != nil {
			return r, err
		}
	}
	r.meta = OutgoingMeta{MessageType: req.MessageType, CaseNumberSender: req.CaseNumberSender,
		CaseNumberRecipient: req.CaseNumberRecipient, EEBRequested: req.EEBRequested}
	if r.meta.MessageType == "" {
		r.meta.MessageType = DefaultMessageType
	}
	if req.RecipientCert != "" {
		probe := addressbook.Recipient{SafeID: r.recipient, Name: r.recipient, CipherCert: req.RecipientCert,
			Intermediary: req.RecipientIntermediary, IntermediaryURL: req.RecipientIntermediaryURL}
		v, err := s.book.Check(ctx, probe)
		if err != nil {
			return r, field.Rename(err, map[string]string{"cipherCert": "recipientCert",
				"intermediary": "recipientIntermediary", "intermediaryUrl": "recipientIntermediaryUrl"})
		}
		r.meta.RecipientCert, r.meta.RecipientFingerprint = v.CipherCert, v.Fingerprint
		r.meta.RecipientIntermediary, r.meta.RecipientIntermediaryURL = v.Intermediary, v.IntermediaryURL
		return r, nil
	}
	e, err := s.book.Get(r.recipient)
	if err != nil {
		return r, field.Errorf(ErrUnknownRecipient, "to", "%q is not in the address book; add it or give recipientCert", r.recipient)
	}
	// The entry was valid when stored; its certificate may have expired since.
	if _, _, err := addressbook.ValidateCipherCert(ctx, e.CipherCert, s.now); err != nil {
		fe := field.Errorf(addressbook.ErrBadCertificate, "to", "the address book's cipher certificate for %q: %v", r.recipient, err)
		fe.Cause = err
		return r, fe
	}
	// So may its intermediary have left the configuration.
	if e, err = s.book.Resolve(e); err != nil {
		var fe *field.Error
		errors.As(err, &fe)
		return r, field.Errorf(addressbook.ErrUnknownIntermediary, "to", "the address book's entry for %q: %s: %s", r.recipient, fe.Field, fe.Reason)
	}
	r.meta.RecipientCert, r.meta.RecipientFingerprint = e.CipherCert, e.Fingerprint
	r.meta.RecipientIntermediary, r.meta.RecipientIntermediaryURL = e.Intermediary, e.IntermediaryURL
	r.meta.RecipientIntermediaryCipherCert, r.meta.RecipientIntermediarySignatureCerts = e.IntermediaryCipherCert, e.IntermediarySignatureCerts
	if e.CourtCode != "" {
		if r.court, err = addressbook.CheckCourt("to", e.CourtCode); err != nil {
			return r, err
		}
		r.meta.CourtCode = r.court.Code
	}
	return r, nil
}

// maxCandidates bounds the entries a refusal of an ambiguous court names.
const maxCandidates = 10

// courtEntry returns the one address book entry with the request's court
// code, refusing an unknown or dissolved court, a court the book does not
// hold, a court it holds more than once (naming the candidates), and a
// To that names another entry.
func (s *Submitter) courtEntry(req MessageRequest) (addressbook.Recipient, error) {
	if req.RecipientCert != "" {
		return addressbook.Recipient{}, field.Errorf(nil, "court", "is sent to from the address book: give court or recipientCert, not both")
	}
	c, err := addressbook.CheckCourt("court", strings.TrimSpace(req.Court))
	if err != nil {
		return addressbook.Recipient{}, err
	}
	es := s.book.ByCourt(c.Code)
	switch {
	case len(es) == 0:
		return addressbook.Recipient{}, field.Errorf(ErrUnknownRecipient, "court", "no address book entry has court code %s (%s); add it or send with to", c.Code, c.Name)
	case len(es) > 1:
		names := make([]string, 0, maxCandidates+1)
		for i, e := range es {
			if i == maxCandidates {
				names = append(names, fmt.Sprintf("and %d more", len(es)-maxCandidates))
				break
			}
			names = append(names, fmt.Sprintf("%s (%s)", e.SafeID, e.Name))
		}
		return addressbook.Recipient{}, field.Errorf(ErrAmbiguousRecipient, "court", "%s (%s) is the court code of %d address book entries: %s; send with to",
			c.Code, c.Name, len(es), strings.Join(names, ", "))
	}
	if to := strings.TrimSpace(req.To); to != "" && to != es[0].SafeID {
		return addressbook.Recipient{}, field.Errorf(nil, "to", "%q is not the address book's entry for court %s (%s is)", to, c.Code, es[0].SafeID)
	}
	return es[0], nil
}

// Draft is a submission whose documents are being streamed in. Nothing
// of it is visible until Commit; Abort (or a failure before the blobs are
// committed) removes every blob begun, so a refused or broken submission
// leaves neither a row nor a temporary file. Documents stay uncommitted
// (open temporary files, up to MaxFiles per draft) until Commit. Should
// the enqueue itself fail after the blobs were committed, those blobs stay
// as unreferenced content-addressed files, as with mailbox.Submit.
type Draft struct {
	s       *Submitter
	writers []mailbox.BlobWriter
	docs    []mailbox.Document
	names   map[string]int
	total   int64
	given   map[string]string // name a document travels under -> the name the submitter gave
}

// Begin starts a submission.
func (s *Submitter) Begin() *Draft {
	return &Draft{s: s, names: map[string]int{}}
}

// Files returns the number of documents added so far.
func (d *Draft) Files() int { return len(d.docs) }

// AddDocument validates a file name and streams r into the blob store.
func (d *Draft) AddDocument(name, contentType string, r io.Reader) error {
	i := len(d.docs)
	docField := fmt.Sprintf("document[%d]", i)
	if i >= d.s.limits.MaxFiles {
		return field.Errorf(ErrTooManyFiles, docField, "a message holds at most %d files", d.s.limits.MaxFiles)
	}
	if err := ValidateFileName(name); err != nil {
		return field.Prefix(docField, err)
	}
	key := mailbox.FileNameKey(name)
	if j, dup := d.names[key]; dup {
		return field.Errorf(ErrDuplicateFileName, docField+".filename", "%q and the name of document[%d] would be one file in an eAkte folder (same letters without regard to case)", name, j)
	}
	ct := "application/octet-stream"
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && contentType != "" {
		ct = mt
	} else if ext := mime.TypeByExtension(filepath.Ext(name)); ext != "" {
		ct, _, _ = mime.ParseMediaType(ext)
	}
	w, err := d.s.blobs.Begin()
	if err != nil {
		return err
	}
	d.writers = append(d.writers, w)
	room := d.s.limits.MaxTotalBytes - d.total
	n, err := io.Copy(w, io.LimitReader(readErrTagger{r}, room+1))
	d.total += n
	switch {
	case err != nil:
		return err
	case n > room:
		return field.Errorf(ErrMessageTooLarge, docField, "the documents exceed %d bytes in total", d.s.limits.MaxTotalBytes)
	case n == 0:
		return field.Errorf(nil, docField, "%q is empty", name)
	}
	d.names[key] = i
	d.docs = append(d.docs, mailbox.Document{Role: mailbox.RoleDocument, Name: name, ContentType: ct, Size: n})
	return nil
}

// Abort discards every blob begun.
func (d *Draft) Abort() {
	for _, w := range d.writers {
		w.Abort()
	}
}

// Accepted is the outcome of a submission.
type Accepted struct {
	Message  mailbox.Message
	Replayed bool // an earlier submission with the same idempotency key
	// Warnings are the ERVB pre-flight's findings that do not refuse the
	// message (a font not embedded, a link), in German for the clerk.
	Warnings ervb.Findings
}

// Commit checks the request, commits the documents and enqueues the
// message. With a non-empty key, a repeat returns the first message
// (Replayed); the same key with other documents is ErrIdempotencyConflict.
func (d *Draft) Commit(ctx context.Context, req MessageRequest, key string) (Accepted, error) {
	defer d.Abort()
	r, err := d.s.Check(ctx, req)
	if err != nil {
		return Accepted{}, field.Prefix("message.", err)
	}
	if len(d.docs) == 0 {
		return Accepted{}, field.Errorf(ErrNoDocuments, "document", "a message needs at least one document")
	}
	toCourt, err := d.courtRecord(ctx, &r, req)
	if err != nil {
		return Accepted{}, err
	}
	// The ERVB governs what courts accept: a message with an XJustiz
	// record is checked file by file; between authorities the names and
	// limits above are the rule.
	var warnings ervb.Findings
	if toCourt {
		if warnings, err = d.preflight(ctx); err != nil {
			return Accepted{}, err
		}
	}
	for i, w := range d.writers {
		ref, err := w.Commit()
		if err != nil {
			return Accepted{}, err
		}
		d.docs[i].SHA256, d.docs[i].Size = ref.SHA256, ref.Size
	}
	meta, err := json.Marshal(r.meta)
	if err != nil {
		return Accepted{}, err
	}
	// The store commits the row and the key in one transaction: a repeat,
	// also one racing this call, gets the first message back.
	m, err := d.s.store.Enqueue(ctx, mailbox.NewOutgoing{Mailbox: r.mailbox, Recipient: r.recipient, Subject: r.subject,
		Documents: d.docs, Meta: meta, IdempotencyKey: key, Now: d.s.now().UTC()})
	switch {
	case errors.Is(err, mailbox.ErrDuplicate):
		return Accepted{Message: m, Replayed: true, Warnings: warnings}, nil
	case errors.Is(err, mailbox.ErrDuplicateConflict):
		return Accepted{}, field.Errorf(ErrIdempotencyConflict, "Idempotency-Key", "was used for message %d with other documents", m.ID)
	case err != nil:
		return Accepted{}, err
	}
	return Accepted{Message: m, Warnings: warnings}, nil
}

// Lookup returns the message an idempotency key became, if any.
func (s *Submitter) Lookup(ctx context.Context, key string) (mailbox.Message, bool, error) {
	m, err := s.store.GetByIdempotencyKey(ctx, key)
	if errors.Is(err, mailbox.ErrNotFound) {
		return mailbox.Message{}, false, nil
	}
	return m, err == nil, err
}

// MaxIdempotencyKey bounds the Idempotency-Key header.
const MaxIdempotencyKey = 200

// CheckIdempotencyKey accepts 1-200 printable ASCII characters.
func CheckIdempotencyKey(k string) error {
	if k == "" || len(k) > MaxIdempotencyKey {
		return field.Errorf(nil, "Idempotency-Key", "must be 1-%d characters", MaxIdempotencyKey)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return field.Errorf(nil, "Idempotency-Key", "must be printable ASCII without spaces")
		}
	}
	return nil
}

// ValidateFileName applies the ERVB file name rule (mailbox.ValidFileName)
// as a refusal naming the field.
func ValidateFileName(name string) error {
	if err := mailbox.ValidFileName(name); err != nil {
		fe := field.Errorf(ErrBadFileName, ".filename", "%s", strings.TrimPrefix(err.Error(), mailbox.ErrFileName.Error()+": "))
		fe.Cause = err
		return fe
	}
	return nil
}

// BodyReadError is a failure to read a submission's content (a client
// that went away, a malformed multipart body), as opposed to a failure to
// store it.
type BodyReadError struct{ Err error }

func (e *BodyReadError) Error() string { return "submit: reading the document: " + e.Err.Error() }
func (e *BodyReadError) Unwrap() error { return e.Err }

// BodyReader marks every read error of r (not io.EOF) as a BodyReadError,
// so a caller can tell a sender that went away from a store that failed.
func BodyReader(r io.Reader) io.Reader { return readErrTagger{r} }

type readErrTagger struct{ r io.Reader }

func (t readErrTagger) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		err = &BodyReadError{Err: err}
	}
	return n, err
}
