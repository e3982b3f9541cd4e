package mailbox

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ReceiptBatcher is a Session that asks for the receipts of several
// deliveries of the dialog in one order (OSCI fetchProcessCard selecting
// their MessageIds) instead of one order after each. The engine then
// fetches the deliveries one after another, each FetchDelivery
// acknowledging the delivery before it, and asks for all their receipts
// at the end; the stored rows stay held from the intake until then.
type ReceiptBatcher interface {
	// Receipts acknowledges the delivery handed out last, as Receipt does,
	// and returns the cards the intermediary gave of ids (one it gave none
	// of is missing). An error matching ErrNoReceipt means it answered
	// without any and the dialog goes on; any other error ends the dialog.
	Receipts(ctx context.Context, ids []string) (map[string]ProcessCard, error)
}

// receiptBatchAge bounds how long a stored delivery waits in a batch for
// its receipt, and so for the intake: about one order per quarter second
// of a long dialog.
const receiptBatchAge = 250 * time.Millisecond

// pendingReceipt is a delivery stored in this dialog whose receipt is
// asked for at its end.
type pendingReceipt struct {
	m     Message
	id    string
	known ProcessCard
	at    time.Time // stored
}

// receipts asks for the receipts of pending in one order and stores each
// as receipt does; a delivery the answer lacks counts as ErrNoReceipt.
func (f *Fetcher) receipts(ctx context.Context, rb ReceiptBatcher, pending []pendingReceipt, now func() time.Time, res *FetchResult) error {
	ids := make([]string, len(pending))
	for i, p := range pending {
		ids[i] = p.id
	}
	cards, rerr := rb.Receipts(ctx, ids)
	at := now()
	var first error
	for _, p := range pending {
		card, ok := cards[p.id]
		perr := rerr
		if perr == nil && !ok {
			perr = fmt.Errorf("%w: the answer holds no card of %s", ErrNoReceipt, p.id)
		}
		if err := f.recordReceipt(ctx, p.m, p.id, p.known, card, perr, at, res); err != nil {
			if !errors.Is(err, rerr) || rerr == nil {
				return err // the store failed
			}
			first = err
		}
	}
	return first
}

// lateReceipts asks for the receipts of pending in a dialog of their own,
// after the dialog they were fetched in failed before it could ask: the
// orders that followed them acknowledged them there, so their cards carry
// Reception. (A last one whose next order never arrived is handed out
// again and counted as a duplicate.) When that dialog fails too, the
// deliveries are released to the intake without Reception, journaled as
// receipt_failed, as after a failed Receipt.
func (f *Fetcher) lateReceipts(ctx context.Context, mailbox string, pending []pendingReceipt, now func() time.Time, res *FetchResult) error {
	if len(pending) == 0 {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	sess, err := f.Open(ctx, mailbox)
	if err != nil {
		rerr := fmt.Errorf("%w: open dialog: %w", ErrNoReceipt, err)
		for _, p := range pending {
			if err := f.recordReceipt(ctx, p.m, p.id, p.known, ProcessCard{}, rerr, now(), res); err != nil {
				return err
			}
		}
		return nil
	}
	rb, ok := sess.(ReceiptBatcher)
	if !ok {
		sess.Abandon()
		return fmt.Errorf("mailbox: the session of %s cannot ask for receipts", mailbox)
	}
	if err := f.receipts(ctx, rb, pending, now, res); err != nil {
		sess.Abandon()
		return err
	}
	return sess.Exit(ctx)
}
