// Package evidence builds the proof of filing for a message we sent: an
// evidence bundle for the case file (Zustellnachweis) with the moments
// the signed process card (Laufzettel) of the recipient's intermediary
// records, above all Reception, the message ids, the recipient, the
// SHA-256 of every document as stored, the XJustiz record, the court's
// eEB answer once it is there, and the message's journal entries with
// their hashes. It renders the bundle as a German HTML page (times in
// Europe/Berlin with MEZ/MESZ, as the Prüfprotokoll shows them) and as
// JSON for machines.
//
// Guarantee: every document hash in a bundle was recomputed from the
// stored file while the bundle was built; a file that is missing or no
// longer matches fails the build (mailbox.ErrBlobMissing,
// mailbox.ErrBlobCorrupt) instead of vouching for it. The renderings
// depend on the bundle alone, so the same bundle gives the same bytes.
// A bundle is built for outgoing messages only (ErrNotOutgoing); before
// the process card reports Reception the bundle says so rather than
// showing a time.
package evidence

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/courts"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/egvp"
)

// ErrNotOutgoing refuses a bundle for a message we received.
var ErrNotOutgoing = errors.New("evidence: a proof of filing is made for messages we sent")

// Version is the format of the JSON bundle.
const Version = "1"

// Bundle is the proof of filing of one sent message.
type Bundle struct {
	Version     string    `json:"version"`
	GeneratedAt time.Time `json:"generatedAt"`

	MessageID     int64     `json:"messageId"`
	Mailbox       string    `json:"mailbox"`
	OSCIMessageID string    `json:"osciMessageId,omitempty"`
	Recipient     string    `json:"recipient"`
	Subject       string    `json:"subject"`
	State         string    `json:"state"`
	SubmittedAt   time.Time `json:"submittedAt"`

	// ReceptionAt is Reception on the signed process card of the
	// recipient's intermediary: when the recipient took the message.
	ReceptionAt time.Time    `json:"receptionAt,omitzero"`
	ProcessCard *ProcessCard `json:"processCard,omitempty"`

	Documents []Document     `json:"documents"`
	Record    *Record        `json:"xjustiz,omitempty"`
	EEB       []EEBAnswer    `json:"eeb,omitempty"`
	Journal   []JournalEntry `json:"journal"`
}

// ProcessCard is the Laufzettel as the intermediary signed it.
type ProcessCard struct {
	OSCIMessageID      string               `json:"osciMessageId"`
	Creation           time.Time            `json:"creation,omitzero"`
	Forwarding         time.Time            `json:"forwarding,omitzero"`
	Reception          time.Time            `json:"reception,omitzero"`
	RecentModification time.Time            `json:"recentModification,omitzero"`
	Inspections        []mailbox.Inspection `json:"inspections,omitempty"`
}

// Document is one file as sent.
type Document struct {
	Name        string `json:"name"`
	Role        string `json:"role"`
	ContentType string `json:"contentType,omitempty"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	// PurgedAt is when retention removed the content: the size and the
	// SHA-256 recorded at submission (and chained into the journal) still
	// say what was sent; the content can no longer be hashed again.
	PurgedAt time.Time `json:"purgedAt,omitzero"`
}

// Record is the XJustiz record the message carried.
type Record struct {
	File          string `json:"file"`
	MessageID     string `json:"messageId"` // eigeneNachrichtenID: a court's eEB answer names it
	Message       string `json:"message"`
	Court         string `json:"court,omitempty"`
	CourtName     string `json:"courtName,omitempty"`
	CaseSender    string `json:"caseSender,omitempty"`
	CaseRecipient string `json:"caseRecipient,omitempty"`
	EEBRequested  bool   `json:"eebRequested"`
	XML           string `json:"xml"`
}

// EEBAnswer is a court's eEB answer recorded on the message.
type EEBAnswer struct {
	Result          string    `json:"result"` // acknowledged or rejected
	AcknowledgedOn  string    `json:"acknowledgedOn,omitempty"`
	RejectCode      string    `json:"rejectCode,omitempty"`
	RejectName      string    `json:"rejectName,omitempty"`
	RejectReason    string    `json:"rejectReason,omitempty"`
	ReceivedAt      time.Time `json:"receivedAt"`
	ReplyMessageID  int64     `json:"replyMessageId"`
	RecordMessageID string    `json:"recordMessageId"`
}

// JournalEntry is one entry of the message's audit journal.
type JournalEntry struct {
	Seq    int64             `json:"seq"`
	At     time.Time         `json:"at"`
	Kind   string            `json:"kind"`
	Detail map[string]string `json:"detail"`
	Hash   string            `json:"hash"`
}

// Sources are what a bundle is built from.
type Sources struct {
	Mail  mailbox.Store
	Blobs mailbox.BlobStore
	Codec *xjustiz.Codec
	// Replies are the eEB answers recorded on a message (the eEB task
	// store); nil: none shown.
	Replies func(ctx context.Context, messageID int64) ([]eeb.Reply, error)
}

// Build builds the bundle of outgoing message id at now.
func Build(ctx context.Context, src Sources, id int64, now time.Time) (*Bundle, error) {
	m, err := src.Mail.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if m.Direction != mailbox.Out {
		return nil, fmt.Errorf("%w: message %d was received", ErrNotOutgoing, id)
	}
	b := &Bundle{Version: Version, GeneratedAt: now.UTC(), MessageID: m.ID, Mailbox: m.Mailbox, OSCIMessageID: m.OSCIMessageID,
		Recipient: m.Recipient, Subject: m.Subject, State: string(m.State), SubmittedAt: m.CreatedAt,
		Documents: []Document{}, Journal: []JournalEntry{}}
	if c, err := src.Mail.ProcessCard(ctx, id); err == nil {
		b.ProcessCard = &ProcessCard{OSCIMessageID: c.OSCIMessageID, Creation: c.Creation, Forwarding: c.Forwarding,
			Reception: c.Reception, RecentModification: c.RecentModification, Inspections: c.Inspections}
		b.ReceptionAt = c.Reception
	} else if !errors.Is(err, mailbox.ErrNotFound) {
		return nil, err
	}
	for _, d := range m.Documents {
		if !d.PurgedAt.IsZero() {
			b.Documents = append(b.Documents, Document{Name: d.Name, Role: string(d.Role), ContentType: d.ContentType, Size: d.Size,
				SHA256: d.SHA256, PurgedAt: d.PurgedAt})
			continue
		}
		data, err := readVerified(src.Blobs, d)
		if err != nil {
			return nil, err
		}
		b.Documents = append(b.Documents, Document{Name: d.Name, Role: string(d.Role), ContentType: d.ContentType, Size: d.Size, SHA256: d.SHA256})
		if b.Record == nil && egvp.IsXJustizName(d.Name) && src.Codec != nil {
			b.Record = readRecord(src.Codec, d.Name, data)
		}
	}
	if src.Replies != nil {
		reps, err := src.Replies(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, r := range reps {
			a := EEBAnswer{Result: r.Result(), RejectCode: r.RejectCode, RejectName: xjustiz.RejectionCode(r.RejectCode).Name(),
				RejectReason: r.RejectReason, ReceivedAt: r.ReceivedAt, ReplyMessageID: r.MessageID, RecordMessageID: r.RecordMessageID}
			if !r.Acknowledged.IsZero() {
				a.AcknowledgedOn = r.Acknowledged.Format(time.DateOnly)
			}
			b.EEB = append(b.EEB, a)
		}
	}
	evs, err := src.Mail.MessageEvents(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		if e.Kind == "api" { // reads of the message, not its history
			continue
		}
		d := map[string]string{}
		_ = json.Unmarshal([]byte(e.Detail), &d)
		b.Journal = append(b.Journal, JournalEntry{Seq: e.Seq, At: e.At, Kind: e.Kind, Detail: d, Hash: e.Hash})
	}
	return b, nil
}

// maxRecordBytes bounds the record read into a bundle; documents are
// only hashed.
const maxRecordBytes = 4 << 20

// readVerified re-hashes a stored document and returns its content when
// it may be the XJustiz record.
func readVerified(blobs mailbox.BlobStore, d mailbox.Document) ([]byte, error) {
	if err := blobs.Verify(d.SHA256); err != nil {
		return nil, err
	}
	if !egvp.IsXJustizName(d.Name) || d.Size > maxRecordBytes {
		return nil, nil
	}
	r, err := blobs.Open(d.SHA256)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(r, maxRecordBytes)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// readRecord summarises the record; one that cannot be read is shown as
// its text alone.
func readRecord(c *xjustiz.Codec, name string, data []byte) *Record {
	if data == nil {
		return nil
	}
	rec := &Record{File: name, XML: string(data)}
	r, err := c.Read(data)
	if err != nil {
		return rec
	}
	rec.MessageID, rec.Message, rec.CaseSender, rec.CaseRecipient, rec.EEBRequested = r.MessageID, r.Message, r.CaseSender, r.CaseRecipient, r.EEBRequested
	rec.Court, rec.CourtName = r.RecipientCourt, r.RecipientName
	if ct, ok := courts.Lookup(r.RecipientCourt); ok {
		rec.CourtName = ct.Name
	}
	return rec
}

// JSON renders the bundle for machines.
func (b *Bundle) JSON() ([]byte, error) {
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	return append(out, '\n'), nil
}
