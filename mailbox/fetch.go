package mailbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Session is one explicit OSCI dialog with the intermediary for one of our
// mailboxes. Per OSCI-Transport 1.2 §4 a delivery counts as received
// (Laufzettel: Reception) when the intermediary sees the next request in
// the same dialog, so every call after FetchDelivery acknowledges the
// delivery it returned: Receipt, ListUndelivered, FetchDelivery and Exit
// alike. The engine makes that call only after the delivery is durable.
// Abandon ends the dialog without a further request and so acknowledges
// nothing (the rule of §4.2.6 for a response that could not be processed).
type Session interface {
	// ListUndelivered returns the MessageIds of deliveries waiting for us.
	ListUndelivered(ctx context.Context) ([]string, error)
	// FetchDelivery fetches, decrypts and verifies one delivery. A delivery
	// that fails verification is returned with the failures in its
	// Meta.Report, not as an error; an error means nothing usable arrived.
	FetchDelivery(ctx context.Context, osciMessageID string) (*Delivery, error)
	// Receipt asks, in this dialog, for the process card of the delivery
	// FetchDelivery just returned (OSCI fetchProcessCard selecting its
	// MessageId). Being the next order, it acknowledges that delivery, so
	// the card it returns carries Reception. An error matching ErrNoReceipt
	// means the intermediary answered without a card and the dialog goes
	// on; any other error ends the dialog (the engine abandons it).
	Receipt(ctx context.Context, osciMessageID string) (ProcessCard, error)
	// Exit ends the dialog (exitDialog).
	Exit(ctx context.Context) error
	// Abandon drops the connection without sending anything.
	Abandon()
}

// ErrNoReceipt is returned by Session.Receipt when the intermediary
// answered the order but gave no process card for the delivery (e.g. OSCI
// feedback 9804); the dialog stays usable.
var ErrNoReceipt = errors.New("mailbox: no receipt for the delivery")

// Delivery is one fetched message. Its readers are consumed before the
// session is used again.
type Delivery struct {
	MessageID string
	Original  io.Reader // the OSCI message exactly as received
	Documents []IncomingDocument
	Meta      IncomingMeta
	Card      ProcessCard // Creation and Forwarding as the intermediary reported them; Reception comes with Session.Receipt
	Sender    string      // SAFE-ID
	Recipient string      // our mailbox as addressed
	Subject   string
}

// IncomingDocument is one decrypted document or attachment.
type IncomingDocument struct {
	Name        string // as the sender named it
	ContentType string
	Role        Role
	Body        io.Reader
}

// Fetcher is the fetch engine.
type Fetcher struct {
	Store Store
	Blobs *Blobs
	// Open starts an explicit dialog for one of our mailboxes.
	Open  func(ctx context.Context, mailbox string) (Session, error)
	Limit int // deliveries per dialog; default 100
	// ReceiptWait is how long a stored delivery is held from the intake
	// while its receipt is asked for (default 2 minutes). The receipt
	// normally releases it at once; the hold only runs out when the
	// process stopped in between, and the intake then goes ahead without
	// Reception.
	ReceiptWait time.Duration
	Now         func() time.Time
}

// FetchResult counts what one dialog brought.
type FetchResult struct {
	// Stored counts new deliveries stored for the intake; SameContent
	// those of them whose documents equal an earlier message's (flagged,
	// delivered all the same). Duplicates were stored before (handed out
	// again); Conflicts came under a stored MessageId with other content.
	Stored, SameContent, Duplicates, Conflicts int
	// Receipts counts process cards with Reception stored after a
	// delivery; ReceiptFailures those deliveries whose card could not be
	// had (journaled as "receipt_failed"; the intake lacks Reception).
	Receipts, ReceiptFailures int
	// Notices lists, in order, the deliveries an operator must hear of,
	// one log line each.
	Notices []FetchNotice
}

// FetchNotice is one delivery of a dialog that the caller logs.
type FetchNotice struct {
	Kind          string // NoticeSameContent
	OSCIMessageID string
	Message       int64  // the stored row
	SameContentAs string // NoticeSameContent: MessageId of the earlier message with the same documents
}

// Kinds of FetchNotice.
const (
	// NoticeSameContent: a delivery under a new MessageId carries the
	// documents of an earlier message; it was stored for the intake and
	// flagged (IntakeMetadata.SameContentAs).
	NoticeSameContent = "same_content"
)

// FetchMailbox runs one dialog: list the waiting deliveries, fetch each,
// store it durably (blobs committed, row committed), and only then make
// the next request: fetchProcessCard for that delivery (Session.Receipt),
// which acknowledges it, and whose card with Reception is stored with the
// delivery before the intake may claim it. When storing fails the dialog
// is abandoned without another request, so the intermediary keeps the
// delivery and hands it out again later. A failed receipt loses nothing
// (the delivery is stored); it is journaled, and a receipt error that
// breaks the dialog abandons it like any other.
func (f *Fetcher) FetchMailbox(ctx context.Context, mailbox string) (FetchResult, error) {
	var res FetchResult
	now := f.Now
	if now == nil {
		now = time.Now
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	wait := f.ReceiptWait
	if wait <= 0 {
		wait = 2 * time.Minute
	}
	sess, err := f.Open(ctx, mailbox)
	if err != nil {
		return res, fmt.Errorf("mailbox: open dialog for %s: %w", mailbox, err)
	}
	ids, err := sess.ListUndelivered(ctx)
	if err != nil {
		sess.Abandon()
		return res, fmt.Errorf("mailbox: list deliveries of %s: %w", mailbox, err)
	}
	if len(ids) > limit {
		ids = ids[:limit]
	}
	for _, id := range ids {
		d, err := sess.FetchDelivery(ctx, id)
		if err != nil {
			sess.Abandon()
			return res, fmt.Errorf("mailbox: fetch delivery of %s: %w", mailbox, err)
		}
		at := now()
		m, err := f.persist(ctx, mailbox, d, at, at.Add(wait))
		switch {
		case err == nil:
			res.Stored++
			if m.SameContentAs != "" {
				res.SameContent++
				res.Notices = append(res.Notices, FetchNotice{Kind: NoticeSameContent, OSCIMessageID: d.MessageID, Message: m.ID, SameContentAs: m.SameContentAs})
			}
		case errors.Is(err, ErrDuplicate):
			res.Duplicates++
		case errors.Is(err, ErrDuplicateConflict):
			res.Conflicts++ // journaled by the store; the second original is kept as a blob
		default:
			sess.Abandon()
			return res, err
		}
		if err := f.receipt(ctx, sess, m, d, now, &res); err != nil {
			sess.Abandon()
			return res, fmt.Errorf("mailbox: receipt in %s: %w", mailbox, err)
		}
	}
	if err := sess.Exit(ctx); err != nil {
		// Everything fetched is durable and acknowledged by its receipt.
		return res, fmt.Errorf("mailbox: exit dialog of %s: %w", mailbox, err)
	}
	return res, nil
}

// receipt sends the order that acknowledges delivery d (stored as m) and
// stores the card it returns, which releases m to the intake. A receipt
// the intermediary could not give is journaled and m released without
// Reception; an error is returned when the dialog or the store failed.
func (f *Fetcher) receipt(ctx context.Context, sess Session, m Message, d *Delivery, now func() time.Time, res *FetchResult) error {
	card, rerr := sess.Receipt(ctx, d.MessageID)
	at := now()
	if rerr == nil && card.OSCIMessageID != "" && card.OSCIMessageID != d.MessageID {
		rerr = fmt.Errorf("%w: card of another MessageId", ErrNoReceipt)
	}
	if rerr != nil {
		res.ReceiptFailures++
		if _, err := f.Store.Append(ctx, EventInput{At: at, MessageID: m.ID, Kind: "receipt_failed", Detail: map[string]string{
			"osci_message_id": d.MessageID, "code": ErrorCode(rerr), "class": Classify(rerr).String(), "error": rerr.Error()}}); err != nil {
			return err
		}
		card = d.Card // known times only; the row is released without Reception
	} else if !card.Reception.IsZero() {
		res.Receipts++
	}
	card.OSCIMessageID = d.MessageID
	if err := f.Store.UpdateProcessCard(ctx, m.ID, card, at); err != nil {
		return err
	}
	if rerr != nil && !errors.Is(rerr, ErrNoReceipt) {
		return rerr
	}
	return nil
}

// IncomingDigest is the content hash of a received message: ContentDigest
// of its decrypted documents, which stays the same when the intermediary
// hands the delivery out again with fresh transport encryption; for a
// message without documents, the SHA-256 of the original.
func IncomingDigest(docs []Document) string {
	var content []Document
	orig := ""
	for _, d := range docs {
		if d.Role == RoleOriginal {
			orig = d.SHA256
			continue
		}
		content = append(content, d)
	}
	if len(content) == 0 {
		return orig
	}
	return ContentDigest(content)
}

// persist commits the blobs of a delivery, then its row, held from the
// intake until hold. It returns the row, also the existing one with
// ErrDuplicate or ErrDuplicateConflict.
func (f *Fetcher) persist(ctx context.Context, mailbox string, d *Delivery, now, hold time.Time) (Message, error) {
	if d.MessageID == "" || d.Original == nil {
		return Message{}, fmt.Errorf("%w: delivery without MessageId or original", ErrInvalidInput)
	}
	orig, err := f.Blobs.Put(d.Original)
	if err != nil {
		return Message{}, err
	}
	docs := []Document{{Role: RoleOriginal, Name: FileOriginal, ContentType: "multipart/related", SHA256: orig.SHA256, Size: orig.Size}}
	for _, doc := range d.Documents {
		ref, err := f.Blobs.Put(doc.Body)
		if err != nil {
			return Message{}, err
		}
		role := doc.Role
		if role == "" {
			role = RoleDocument
		}
		docs = append(docs, Document{Role: role, Name: doc.Name, ContentType: doc.ContentType, SHA256: ref.SHA256, Size: ref.Size})
	}
	meta, err := json.Marshal(d.Meta)
	if err != nil {
		return Message{}, fmt.Errorf("mailbox: encode delivery metadata: %w", err)
	}
	card := d.Card
	card.OSCIMessageID = d.MessageID
	subject := d.Subject
	if subject == "" {
		subject = d.Meta.UserSubject
	}
	return f.Store.InsertIncoming(ctx, NewIncoming{Mailbox: mailbox, OSCIMessageID: d.MessageID, ContentSHA256: IncomingDigest(docs),
		Size: orig.Size, Subject: subject, Sender: d.Sender, Recipient: d.Recipient, Meta: meta, Documents: docs, Card: &card, Now: now,
		NotBefore: hold})
}
