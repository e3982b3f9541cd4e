package mailbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Session is one explicit OSCI dialog with the intermediary for one of our
// mailboxes. Per OSCI-Transport 1.2 §4 a delivery counts as received
// (Laufzettel: Reception) when the intermediary sees the next request in
// the same dialog, so every call after FetchDelivery acknowledges the
// delivery it returned (or reported unreadable): Receipt, ListUndelivered,
// FetchDelivery and Exit alike. The engine makes that call only after the
// delivery (or, parked, its original) is durable.
// Abandon ends the dialog without a further request and so acknowledges
// nothing (the rule of §4.2.6 for a response that could not be processed).
type Session interface {
	// ListUndelivered returns the MessageIds of deliveries waiting for us.
	ListUndelivered(ctx context.Context) ([]string, error)
	// FetchDelivery fetches, decrypts and verifies one delivery. A delivery
	// that fails verification is returned with the failures in its
	// Meta.Report, not as an error. A delivery received completely that
	// cannot be read is an *UnreadableError carrying the response as
	// received (the session stays usable); any other error means nothing
	// usable arrived, and the engine abandons the dialog.
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
// session is used again. A reader that is an *os.File read from its start
// is a finished spool file the session hands over: the Fetcher may make
// it the blob itself (PutFile) instead of copying it, so nothing may
// write the file afterwards (removing it is fine).
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
	Blobs BlobStore
	// Open starts an explicit dialog for one of our mailboxes.
	Open  func(ctx context.Context, mailbox string) (Session, error)
	Limit int // deliveries per listing (poll); default 100
	// Width is how many dialogs fetch the deliveries of one listing side
	// by side (default 1): the dialog that listed them and up to Width-1
	// more, opened only when at least LaneMin deliveries wait for each.
	// Each delivery is fetched in one dialog and acknowledged there, as
	// with one; one dialog's verification and storing overlap another's
	// wait for the intermediary.
	Width int
	// MaxAttempts bounds the reads of one delivery (default 3): a delivery
	// whose response arrived but could not be read is parked at the
	// MaxAttempts-th read, and one whose reads kept ending without an
	// outcome (the process stopped while reading) is no longer read. Reads
	// are counted in the store, per mailbox and MessageId, before they
	// start, so a crash loop counts too.
	MaxAttempts int
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
	// Parked counts new deliveries stored unread in StateQuarantined with
	// ReasonUnreadable; Skipped those not read because their reads kept
	// ending without an outcome and the session cannot fetch them unread
	// (they stay at the intermediary, unacknowledged).
	Parked, Skipped int
	// Receipts counts process cards with Reception stored after a
	// delivery; ReceiptFailures those deliveries whose card could not be
	// had (journaled as "receipt_failed"; the intake lacks Reception).
	Receipts, ReceiptFailures int
	// Left counts the deliveries listed beyond Limit, left for the next
	// dialog.
	Left int
	// Notices lists, in order, the deliveries an operator must hear of,
	// one log line each.
	Notices []FetchNotice
}

// More reports whether the caller should run the next dialog at once
// rather than at its poll interval: this one stored or parked new
// deliveries and left others beyond its Limit. A dialog that met only
// known deliveries (duplicates, conflicts, skipped ones) is no progress,
// so a fetch loop that keeps seeing them pauses instead of spinning.
func (r FetchResult) More() bool {
	return r.Left > 0 && r.Stored+r.Parked > 0
}

// FetchNotice is one delivery of a dialog that the caller logs.
type FetchNotice struct {
	Kind          string // NoticeSameContent, NoticeParked or NoticeSkipped
	OSCIMessageID string
	Message       int64  // the stored row; 0 for NoticeSkipped
	SameContentAs string // NoticeSameContent: MessageId of the earlier message with the same documents
	Reason        string // NoticeParked, NoticeSkipped: why it was not read
	Attempts      int    // NoticeParked, NoticeSkipped: reads counted
}

// Kinds of FetchNotice.
const (
	// NoticeSameContent: a delivery under a new MessageId carries the
	// documents of an earlier message; it was stored for the intake and
	// flagged (IntakeMetadata.SameContentAs).
	NoticeSameContent = "same_content"
	// NoticeParked: a delivery that could not be read was stored unread
	// (ReasonUnreadable) and acknowledged; an operator retries it
	// (Reprocess) or releases it to the intake (OpRequeue).
	NoticeParked = "parked"
	// NoticeSkipped: a delivery whose reads kept ending without an
	// outcome was not read again; it stays at the intermediary until an
	// operator clears its count (Store.EndFetch with Clear).
	NoticeSkipped = "skipped"
)

// FetchMailbox runs one dialog: list the waiting deliveries, fetch each,
// store it durably (blobs committed, row committed), and only then make
// the next request: fetchProcessCard for that delivery (Session.Receipt),
// which acknowledges it, and whose card with Reception is stored with the
// delivery before the intake may claim it. When storing fails the dialog
// is abandoned without another request, so the intermediary keeps the
// delivery and hands it out again later. A failed receipt loses nothing
// (the delivery is stored); it is journaled, and a receipt error that
// breaks the dialog abandons it like any other. A delivery that cannot be
// read is parked after MaxAttempts reads and the dialog goes on (see
// "Poison deliveries" in the package doc). With Width above 1 a long
// listing is shared among several dialogs, each following these rules
// for the deliveries it fetched.
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
		res.Left = len(ids) - limit
		ids = ids[:limit]
	}
	lanes := f.lanes(len(ids))
	if lanes == 1 {
		err := f.dialog(ctx, sess, mailbox, &fetchQueue{ids: ids}, now, wait, &res)
		return res, err
	}
	return f.fetchLanes(ctx, sess, mailbox, &fetchQueue{ids: ids}, lanes, now, wait, res)
}

// dialog fetches the deliveries it takes from q in sess, one after
// another, with their receipts, and ends the dialog (Exit, or Abandon on
// an error). On an error q stops handing out deliveries to every dialog.
func (f *Fetcher) dialog(ctx context.Context, sess Session, mailbox string, q *fetchQueue, now func() time.Time, wait time.Duration, res *FetchResult) error {
	rb, batch := sess.(ReceiptBatcher)
	var pending []pendingReceipt // batch: fetched, receipt not yet asked for
	fail := func(err error) error {
		q.stop()
		sess.Abandon()
		return err
	}
	for id, ok := q.next(); ok; id, ok = q.next() {
		m, card, fetched, err := f.fetchOne(ctx, sess, mailbox, id, now, wait, res)
		if err != nil {
			q.stop()
			sess.Abandon()
			return errors.Join(err, f.lateReceipts(ctx, mailbox, pending, now, res))
		}
		if !fetched {
			continue
		}
		if batch {
			pending = append(pending, pendingReceipt{m: m, id: id, known: card, at: now()})
			// The rows wait for their receipts from the intake: a dialog
			// asks on the way once the first has waited receiptBatchAge
			// (and always before the hold runs out).
			if now().Sub(pending[0].at) < min(wait/2, receiptBatchAge) {
				continue
			}
			err := f.receipts(ctx, rb, pending, now, res)
			pending = nil
			if err != nil {
				return fail(fmt.Errorf("mailbox: receipts in %s: %w", mailbox, err))
			}
			continue
		}
		if err := f.receipt(ctx, sess, m, id, card, now, res); err != nil {
			return fail(fmt.Errorf("mailbox: receipt in %s: %w", mailbox, err))
		}
	}
	if len(pending) > 0 {
		if err := f.receipts(ctx, rb, pending, now, res); err != nil {
			return fail(fmt.Errorf("mailbox: receipts in %s: %w", mailbox, err))
		}
	}
	if err := sess.Exit(ctx); err != nil {
		// Everything fetched is durable and acknowledged by its receipt.
		return fmt.Errorf("mailbox: exit dialog of %s: %w", mailbox, err)
	}
	return nil
}

// fetchOne reads delivery id and stores it, or parks it, or skips it.
// fetched reports whether a response was received and stored (m, with the
// card known so far), so that the next request acknowledges it; an error
// means the dialog must be abandoned.
func (f *Fetcher) fetchOne(ctx context.Context, sess Session, mailbox, id string, now func() time.Time, wait time.Duration, res *FetchResult) (m Message, card ProcessCard, fetched bool, err error) {
	max := f.MaxAttempts
	if max <= 0 {
		max = 3
	}
	n, err := f.Store.BeginFetch(ctx, mailbox, id, now())
	if err != nil {
		return m, card, false, err
	}
	// The outcome of a read is recorded also when the dialog's context
	// ends, so a shutdown does not count as a crash.
	end := func(unreadable string) error {
		return f.Store.EndFetch(context.WithoutCancel(ctx), FetchEnd{Mailbox: mailbox, OSCIMessageID: id, Now: now(), Unreadable: unreadable})
	}
	if n > max {
		// Every earlier read ended without an outcome: reading it again
		// would stop the process again.
		reason := fmt.Sprintf("%d reads ended without an outcome", n-1)
		of, ok := sess.(OriginalFetcher)
		if !ok {
			res.Skipped++
			res.Notices = append(res.Notices, FetchNotice{Kind: NoticeSkipped, OSCIMessageID: id, Reason: reason, Attempts: n - 1})
			return m, card, false, end("")
		}
		orig, err := of.FetchOriginal(ctx, id)
		if err != nil {
			return m, card, false, errors.Join(fmt.Errorf("mailbox: fetch original of %s in %s: %w", id, mailbox, err), end(""))
		}
		return f.park(ctx, mailbox, id, orig, reason, n-1, now(), res, end)
	}
	d, err := sess.FetchDelivery(ctx, id)
	var ue *UnreadableError
	if errors.As(err, &ue) && ue.Original != nil && n < max {
		// One stored before (parked, or read then) is not read again.
		if _, gerr := f.Store.GetByOSCIMessageID(ctx, In, mailbox, id); gerr == nil {
			n = max
		}
	}
	switch {
	case errors.As(err, &ue) && ue.Original != nil && n >= max:
		return f.park(ctx, mailbox, id, ue.Original, ue.Reason, n, now(), res, end)
	case errors.As(err, &ue) && ue.Original != nil:
		// Retried in the next dialog: a cause that passes gets its chance.
		return m, card, false, errors.Join(fmt.Errorf("mailbox: fetch delivery of %s (read %d of %d): %w", mailbox, n, max, err), end(ue.Reason))
	case err != nil:
		return m, card, false, errors.Join(fmt.Errorf("mailbox: fetch delivery of %s: %w", mailbox, err), end(""))
	}
	at := now()
	m, err = f.persist(ctx, mailbox, d, at, at.Add(wait))
	switch {
	case err == nil:
		res.Stored++
		if m.SameContentAs != "" {
			res.SameContent++
			res.Notices = append(res.Notices, FetchNotice{Kind: NoticeSameContent, OSCIMessageID: id, Message: m.ID, SameContentAs: m.SameContentAs})
		}
	case errors.Is(err, ErrDuplicate):
		res.Duplicates++
	case errors.Is(err, ErrDuplicateConflict):
		res.Conflicts++ // journaled by the store; the second original is kept as a blob
	default:
		return m, card, false, errors.Join(err, end(""))
	}
	return m, d.Card, true, nil
}

// park stores an unreadable delivery's original as a quarantined message
// (ReasonUnreadable) and counts it, returning as fetchOne does. A delivery
// stored before under the MessageId counts as a duplicate or conflict, as
// in persist. When storing fails (a full disk is no fault of the
// delivery) the read is taken back with end.
func (f *Fetcher) park(ctx context.Context, mailbox, id string, orig io.Reader, reason string, attempts int, now time.Time, res *FetchResult,
	end func(string) error) (Message, ProcessCard, bool, error) {
	m, err := f.insertParked(ctx, mailbox, id, orig, reason, attempts, now)
	switch {
	case err == nil:
		res.Parked++
		res.Notices = append(res.Notices, FetchNotice{Kind: NoticeParked, OSCIMessageID: id, Message: m.ID, Reason: reason, Attempts: attempts})
	case errors.Is(err, ErrDuplicate):
		res.Duplicates++
	case errors.Is(err, ErrDuplicateConflict):
		res.Conflicts++
	default:
		return m, ProcessCard{}, false, errors.Join(err, end(""))
	}
	return m, ProcessCard{}, true, nil
}

func (f *Fetcher) insertParked(ctx context.Context, mailbox, id string, orig io.Reader, reason string, attempts int, now time.Time) (Message, error) {
	ref, err := f.Blobs.Put(orig)
	if err != nil {
		return Message{}, err
	}
	n, err := parked(mailbox, id, ref, reason, attempts, now)
	if err != nil {
		return Message{}, err
	}
	return f.Store.InsertIncoming(ctx, n)
}

// receipt sends the order that acknowledges delivery id (stored as m,
// known is its card so far) and stores the card it returns, which releases
// m to the intake. A receipt the intermediary could not give is journaled
// and m released without Reception; an error is returned when the dialog
// or the store failed.
func (f *Fetcher) receipt(ctx context.Context, sess Session, m Message, id string, known ProcessCard, now func() time.Time, res *FetchResult) error {
	card, rerr := sess.Receipt(ctx, id)
	return f.recordReceipt(ctx, m, id, known, card, rerr, now(), res)
}

// recordReceipt stores the receipt of delivery id (stored as m, known is
// its card so far): card, or the failure rerr to get it. It returns an
// error when the dialog (rerr other than ErrNoReceipt) or the store failed.
func (f *Fetcher) recordReceipt(ctx context.Context, m Message, id string, known, card ProcessCard, rerr error, at time.Time, res *FetchResult) error {
	if rerr == nil && card.OSCIMessageID != "" && card.OSCIMessageID != id {
		rerr = fmt.Errorf("%w: card of another MessageId", ErrNoReceipt)
	}
	if rerr != nil {
		res.ReceiptFailures++
		if _, err := f.Store.Append(ctx, EventInput{At: at, MessageID: m.ID, Kind: "receipt_failed", Detail: map[string]string{
			"osci_message_id": id, "code": ErrorCode(rerr), "class": Classify(rerr).String(), "error": rerr.Error()}}); err != nil {
			return err
		}
		card = known // known times only; the row is released without Reception
	} else if !card.Reception.IsZero() {
		res.Receipts++
	}
	card.OSCIMessageID = id
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
	// The original and the documents are hashed and committed side by
	// side (two cores): they are independent blobs until the row names
	// them.
	type put struct {
		ref BlobRef
		err error
	}
	origDone := make(chan put, 1)
	go func() {
		ref, err := putSpooled(f.Blobs, d.Original)
		origDone <- put{ref, err}
	}()
	docs, derr := putDocuments(f.Blobs, d)
	o := <-origDone
	if o.err != nil {
		return Message{}, o.err
	}
	if derr != nil {
		return Message{}, derr
	}
	orig := Document{Role: RoleOriginal, Name: FileOriginal, ContentType: "multipart/related", SHA256: o.ref.SHA256, Size: o.ref.Size}
	n, err := incoming(d, append([]Document{orig}, docs...), now)
	if err != nil {
		return Message{}, err
	}
	n.Mailbox, n.NotBefore = mailbox, hold
	return f.Store.InsertIncoming(ctx, n)
}

// readDelivery commits the documents of d as blobs and returns the row
// that stores them beside the original orig.
func readDelivery(blobs BlobStore, d *Delivery, orig Document, now time.Time) (NewIncoming, error) {
	docs, err := putDocuments(blobs, d)
	if err != nil {
		return NewIncoming{}, err
	}
	return incoming(d, append([]Document{orig}, docs...), now)
}

// putDocuments commits the documents of d as blobs.
func putDocuments(blobs BlobStore, d *Delivery) ([]Document, error) {
	var docs []Document
	for _, doc := range d.Documents {
		ref, err := putSpooled(blobs, doc.Body)
		if err != nil {
			return nil, err
		}
		docs = append(docs, partDocument(Part(doc), ref))
	}
	return docs, nil
}

// incoming is the row of delivery d with its committed blobs, the
// original first.
func incoming(d *Delivery, docs []Document, now time.Time) (NewIncoming, error) {
	meta, err := json.Marshal(d.Meta)
	if err != nil {
		return NewIncoming{}, fmt.Errorf("mailbox: encode delivery metadata: %w", err)
	}
	card := d.Card
	card.OSCIMessageID = d.MessageID
	subject := d.Subject
	if subject == "" {
		subject = d.Meta.UserSubject
	}
	return NewIncoming{OSCIMessageID: d.MessageID, ContentSHA256: IncomingDigest(docs), Size: docs[0].Size, Subject: subject,
		Sender: d.Sender, Recipient: d.Recipient, Meta: meta, Documents: docs, Card: &card, Now: now}, nil
}

// putSpooled stores a reader of a Delivery: a spool file by PutFile (with
// its writer's digest when it is a HashedFile), any other reader by Put.
func putSpooled(blobs BlobStore, r io.Reader) (BlobRef, error) {
	switch f := r.(type) {
	case *HashedFile:
		return PutFile(blobs, f.File, f.SHA256)
	case *os.File:
		return PutFile(blobs, f, "")
	}
	return blobs.Put(r)
}
