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
// delivery it returned: ListUndelivered, FetchDelivery and Exit alike.
// Abandon ends the dialog without a further request and so acknowledges
// nothing (the rule of §4.2.6 for a response that could not be processed).
type Session interface {
	// ListUndelivered returns the MessageIds of deliveries waiting for us.
	ListUndelivered(ctx context.Context) ([]string, error)
	// FetchDelivery fetches, decrypts and verifies one delivery. A delivery
	// that fails verification is returned with the failures in its
	// Meta.Report, not as an error; an error means nothing usable arrived.
	FetchDelivery(ctx context.Context, osciMessageID string) (*Delivery, error)
	// Exit ends the dialog (exitDialog).
	Exit(ctx context.Context) error
	// Abandon drops the connection without sending anything.
	Abandon()
}

// Delivery is one fetched message. Its readers are consumed before the
// session is used again.
type Delivery struct {
	MessageID string
	Original  io.Reader // the OSCI message exactly as received
	Documents []IncomingDocument
	Meta      IncomingMeta
	Card      ProcessCard // Creation and Forwarding as the intermediary reported them
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
	Now   func() time.Time
}

// FetchResult counts what one dialog brought.
type FetchResult struct {
	Stored, Duplicates, Conflicts int
}

// FetchMailbox runs one dialog: list the waiting deliveries, fetch each,
// store it durably (blobs committed, row committed) and only then make the
// next request, which acknowledges it. When storing fails the dialog is
// abandoned without another request, so the intermediary keeps the
// delivery and hands it out again later.
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
		err = f.persist(ctx, mailbox, d, now())
		switch {
		case err == nil:
			res.Stored++
		case errors.Is(err, ErrDuplicate):
			res.Duplicates++
		case errors.Is(err, ErrDuplicateConflict):
			res.Conflicts++ // journaled by the store; the second original is kept as a blob
		default:
			sess.Abandon()
			return res, err
		}
	}
	if err := sess.Exit(ctx); err != nil {
		// Everything fetched is durable; the intermediary will list the last
		// delivery again if it missed the acknowledgement.
		return res, fmt.Errorf("mailbox: exit dialog of %s: %w", mailbox, err)
	}
	return res, nil
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

// persist commits the blobs of a delivery, then its row.
func (f *Fetcher) persist(ctx context.Context, mailbox string, d *Delivery, now time.Time) error {
	if d.MessageID == "" || d.Original == nil {
		return fmt.Errorf("%w: delivery without MessageId or original", ErrInvalidInput)
	}
	orig, err := f.Blobs.Put(d.Original)
	if err != nil {
		return err
	}
	docs := []Document{{Role: RoleOriginal, Name: FileOriginal, ContentType: "multipart/related", SHA256: orig.SHA256, Size: orig.Size}}
	for _, doc := range d.Documents {
		ref, err := f.Blobs.Put(doc.Body)
		if err != nil {
			return err
		}
		role := doc.Role
		if role == "" {
			role = RoleDocument
		}
		docs = append(docs, Document{Role: role, Name: doc.Name, ContentType: doc.ContentType, SHA256: ref.SHA256, Size: ref.Size})
	}
	meta, err := json.Marshal(d.Meta)
	if err != nil {
		return fmt.Errorf("mailbox: encode delivery metadata: %w", err)
	}
	card := d.Card
	card.OSCIMessageID = d.MessageID
	subject := d.Subject
	if subject == "" {
		subject = d.Meta.UserSubject
	}
	_, err = f.Store.InsertIncoming(ctx, NewIncoming{Mailbox: mailbox, OSCIMessageID: d.MessageID, ContentSHA256: IncomingDigest(docs),
		Size: orig.Size, Subject: subject, Sender: d.Sender, Recipient: d.Recipient, Meta: meta, Documents: docs, Card: &card, Now: now})
	return err
}
