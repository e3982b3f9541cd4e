package mailbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// batchSession is the fake session with the receipts of a dialog in one
// order (mailbox.ReceiptBatcher).
type batchSession struct{ fakeSession }

func (s *batchSession) Receipts(ctx context.Context, ids []string) (map[string]mailbox.ProcessCard, error) {
	f := s.f
	f.request("receipts " + strings.Join(ids, ","))
	defer f.mu.Unlock()
	out := map[string]mailbox.ProcessCard{}
	for _, id := range ids {
		if f.acked[id] > 0 {
			out[id] = f.card(id)
		}
	}
	return out, nil
}

// TestFetchReceiptsInOneOrder: a session that can ask for several
// receipts at once gets one order for the dialog's deliveries at its end;
// each delivery is acknowledged by the order after it and released with
// Reception. When a later fetch breaks the dialog, the receipts of those
// stored before come from a dialog of their own.
func TestFetchReceiptsInOneOrder(t *testing.T) {
	const mbox = "DE.BeBPo.erkelenz"
	e := newEnv(t)
	peer := newFakeMailbox("m1", "m2", "m3")
	open := func(context.Context, string) (mailbox.Session, error) { return &batchSession{fakeSession{peer}}, nil }
	fe := &mailbox.Fetcher{Store: e.store, Blobs: e.blobs, Open: open, Now: e.clk.Now}
	res, err := fe.FetchMailbox(ctx, mbox)
	if err != nil || res.Stored != 3 || res.Receipts != 3 || res.ReceiptFailures != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if c := peer.calls(); c != "list; fetch m1; fetch m2; fetch m3; receipts m1,m2,m3; exit" {
		t.Fatalf("orders: %s", c)
	}
	for _, id := range []string{"m1", "m2", "m3"} {
		m, err := e.store.GetByOSCIMessageID(ctx, mailbox.In, mbox, id)
		if err != nil {
			t.Fatal(err)
		}
		if pc, err := e.store.ProcessCard(ctx, m.ID); err != nil || !pc.Reception.Equal(receptionAt) {
			t.Errorf("%s: card %+v %v", id, pc, err)
		}
	}

	for _, id := range []string{"m4", "m5"} {
		peer.add(id, true)
	}
	peer.fetchErr["m5"] = errors.New("connection reset")
	res, err = fe.FetchMailbox(ctx, mbox)
	if err == nil || res.Stored != 1 || res.Receipts != 1 || res.ReceiptFailures != 0 {
		t.Fatalf("broken dialog: %+v %v", res, err)
	}
	if c := peer.calls(); c != "list; fetch m4; fetch m5; abandon; receipts m4; exit" {
		t.Fatalf("orders: %s", c)
	}
}

// TestFetchReceiptsOnTheWay: in a dialog that takes longer than
// receiptBatchAge, the receipts are asked for on the way, so no stored
// delivery waits long for the intake; each is asked for once.
func TestFetchReceiptsOnTheWay(t *testing.T) {
	const mbox = "DE.BeBPo.erkelenz"
	e := newEnv(t)
	peer := newFakeMailbox("m1", "m2", "m3", "m4")
	open := func(context.Context, string) (mailbox.Session, error) { return &batchSession{fakeSession{peer}}, nil }
	now := func() time.Time { e.clk.Add(100 * time.Millisecond); return e.clk.Now() } // the dialog takes its time
	fe := &mailbox.Fetcher{Store: e.store, Blobs: e.blobs, Open: open, Now: now}
	res, err := fe.FetchMailbox(ctx, mbox)
	if err != nil || res.Stored != 4 || res.Receipts != 4 {
		t.Fatalf("%+v %v", res, err)
	}
	c := peer.calls()
	if n := strings.Count(c, "receipts "); n < 2 || n > 3 {
		t.Fatalf("%d receipt orders for 4 deliveries, want them asked for on the way in batches: %s", n, c)
	}
	for _, id := range []string{"m1", "m2", "m3", "m4"} {
		if strings.Count(c, id) != 2 { // its fetch and its receipt
			t.Errorf("%s: %s", id, c)
		}
	}
}
