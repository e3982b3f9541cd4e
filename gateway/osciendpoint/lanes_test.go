package osciendpoint

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/intermediary"
)

// convOf matches the simulator's line per order: its type and dialog.
var convOf = regexp.MustCompile(`: (\w+) conversation "(\d*)"`)

// fetchesByDialog counts the fetchDelivery orders per conversation.
func fetchesByDialog(lines []string) map[string]int {
	out := map[string]int{}
	for _, l := range lines {
		if m := convOf.FindStringSubmatch(l); m != nil && m[1] == osci.TypeFetchDelivery.String() {
			out[m[2]]++
		}
	}
	return out
}

// receivedWithReception checks that B stored want deliveries, each once
// and each with Reception on its card.
func (e *omEnv) receivedWithReception(t *testing.T, want int) {
	t.Helper()
	ctx := context.Background()
	in, err := e.b.store.List(ctx, mailbox.Filter{Direction: mailbox.In})
	if err != nil || len(in) != want {
		t.Fatalf("%d received, want %d: %v", len(in), want, err)
	}
	seen := map[string]bool{}
	for _, m := range in {
		if seen[m.OSCIMessageID] {
			t.Errorf("%s stored twice", m.OSCIMessageID)
		}
		seen[m.OSCIMessageID] = true
		if pc, err := e.b.store.ProcessCard(ctx, m.ID); err != nil || pc.Reception.IsZero() {
			t.Errorf("%s: card %+v %v", m.OSCIMessageID, pc, err)
		}
	}
}

// TestLongListingFetchedInTwoDialogs: with Width 2 a listing of eight
// deliveries is fetched in the listing's dialog and one more, each
// delivery once and acknowledged in the dialog that fetched it (its card
// carries Reception); both dialogs are kept, and the next idle poll costs
// one order in one of them.
func TestLongListingFetchedInTwoDialogs(t *testing.T) {
	e := newOMEnv(t)
	e.b.mb.cfg.KeepIdleDialogs = true
	ctx := context.Background()
	e.send(t, 2*mailbox.LaneMin)
	e.log.take()
	f := e.fetcher()
	f.Width = 2
	res, err := f.FetchMailbox(ctx, "B")
	if err != nil || res.Stored != 2*mailbox.LaneMin || res.Receipts != 2*mailbox.LaneMin {
		t.Fatalf("poll: %+v %v", res, err)
	}
	lines := e.log.take()
	byDialog := fetchesByDialog(lines)
	if len(byDialog) != 2 {
		t.Errorf("fetches per dialog %v, want two dialogs\n%s", byDialog, strings.Join(lines, "\n"))
	}
	if got := orders(lines); strings.Contains(got, osci.TypeExitDialog.String()) {
		t.Errorf("a dialog was exited, not kept: %s", got)
	}
	e.receivedWithReception(t, 2*mailbox.LaneMin)
	if res, err := f.FetchMailbox(ctx, "B"); err != nil || res.Stored != 0 {
		t.Fatalf("idle poll: %+v %v", res, err)
	}
	if got := orders(e.log.take()); got != osci.TypeFetchProcessCard.String() {
		t.Errorf("idle poll: %s, want the listing alone", got)
	}
}

// TestBrokenFetchDialogLosesNothing: when one of two fetching dialogs
// breaks (a SOAP fault for its fetch), the poll fails, the delivery it
// held stays unacknowledged at the intermediary, and the next poll
// fetches it: every delivery is stored once, with Reception. (The one
// stored before the broken fetch was not acknowledged either: the fault
// came before the order was executed. It is handed out again and counted
// as a duplicate, as with one dialog.)
func TestBrokenFetchDialogLosesNothing(t *testing.T) {
	e := newOMEnv(t, intermediary.Fault{Type: osci.TypeFetchDelivery, Nth: 3, Kind: intermediary.FaultSOAP, Code: osci.CodeInternal})
	e.b.mb.cfg.KeepIdleDialogs = true
	ctx := context.Background()
	e.send(t, 2*mailbox.LaneMin)
	f := e.fetcher()
	f.Width = 2
	res, err := f.FetchMailbox(ctx, "B")
	if err == nil || res.Stored == 0 || res.Stored >= 2*mailbox.LaneMin {
		t.Fatalf("poll with a broken dialog: %+v %v", res, err)
	}
	stored := res.Stored
	res, err = f.FetchMailbox(ctx, "B")
	if err != nil || stored+res.Stored != 2*mailbox.LaneMin || res.Duplicates > 1 {
		t.Fatalf("next poll: %+v %v (stored %d before)", res, err, stored)
	}
	e.receivedWithReception(t, 2*mailbox.LaneMin)
}

// TestSentCardsAskedInAKeptDialog: with KeepIdleDialogs the send side's
// card query goes to a dialog kept open, one order each after the first.
func TestSentCardsAskedInAKeptDialog(t *testing.T) {
	e := newOMEnv(t)
	e.a.mb.cfg.KeepIdleDialogs = true
	ctx := context.Background()
	e.send(t, 1)
	out, err := e.a.store.List(ctx, mailbox.Filter{Direction: mailbox.Out})
	if err != nil || len(out) != 1 {
		t.Fatalf("%d sent: %v", len(out), err)
	}
	id := out[0].OSCIMessageID
	cb := e.a.mb.Transport().(mailbox.CardBatcher)
	init, list := osci.TypeInitDialog.String(), osci.TypeFetchProcessCard.String()
	e.log.take()
	for i, want := range []string{init + " " + list, list} {
		cards, err := cb.FetchProcessCards(ctx, []string{id})
		if err != nil || cards[id].Creation.IsZero() {
			t.Fatalf("query %d: %+v %v", i, cards, err)
		}
		if got := orders(e.log.take()); got != want {
			t.Errorf("query %d: %s, want %s", i, got, want)
		}
	}
}

// TestKeptDialogEndedBeforeAFetch: a further fetching dialog taken from
// the kept ones starts with fetchDelivery; when the kept dialog fails it
// (here a SOAP fault, as for a dialog the intermediary has ended), the
// fetch is made again in a fresh dialog and the delivery arrives.
func TestKeptDialogEndedBeforeAFetch(t *testing.T) {
	e := newOMEnv(t, intermediary.Fault{Type: osci.TypeFetchDelivery, Nth: 1, Kind: intermediary.FaultSOAP, Code: osci.CodeInternal})
	e.b.mb.cfg.KeepIdleDialogs = true
	ctx := context.Background()
	if res, err := e.fetcher().FetchMailbox(ctx, "B"); err != nil || res.Stored != 0 {
		t.Fatalf("idle poll: %+v %v", res, err)
	}
	e.send(t, 1)
	out, err := e.a.store.List(ctx, mailbox.Filter{Direction: mailbox.Out})
	if err != nil || len(out) != 1 {
		t.Fatalf("%d sent: %v", len(out), err)
	}
	e.log.take()
	sess, err := e.b.mb.OpenSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Abandon()
	d, err := sess.FetchDelivery(ctx, out[0].OSCIMessageID)
	if err != nil || d.MessageID != out[0].OSCIMessageID {
		t.Fatalf("fetch in a kept dialog that failed: %+v %v", d, err)
	}
	// The simulator logs no line for the fetch it faulted.
	fetch, init := osci.TypeFetchDelivery.String(), osci.TypeInitDialog.String()
	if got := orders(e.log.take()); got != init+" "+fetch {
		t.Errorf("orders %s, want the fetch again in a fresh dialog", got)
	}
}
