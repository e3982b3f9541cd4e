package osciendpoint

import (
	"context"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// TestFetchProcessCardsInOneDialog: the cards of several sent messages
// come from the simulator in one dialog, each with its Creation; a
// MessageId the intermediary never saw is missing, not an error.
func TestFetchProcessCardsInOneDialog(t *testing.T) {
	e := newOMEnv(t)
	e.send(t, 3)
	ctx := context.Background()
	out, err := e.a.store.List(ctx, mailbox.Filter{Direction: mailbox.Out})
	if err != nil || len(out) != 3 {
		t.Fatalf("%d sent: %v", len(out), err)
	}
	ids := []string{"govapp_unknown"}
	for _, m := range out {
		ids = append(ids, m.OSCIMessageID)
	}
	tr, ok := e.a.mb.Transport().(mailbox.CardBatcher)
	if !ok {
		t.Fatal("the OSCI transport fetches no cards in one dialog")
	}
	cards, err := tr.FetchProcessCards(ctx, ids)
	if err != nil || len(cards) != 3 {
		t.Fatalf("%d cards: %v", len(cards), err)
	}
	for _, m := range out {
		if c := cards[m.OSCIMessageID]; c.Creation.IsZero() || c.OSCIMessageID != m.OSCIMessageID {
			t.Errorf("card of %s: %+v", m.OSCIMessageID, c)
		}
	}
	if cards, err := tr.FetchProcessCards(ctx, []string{"govapp_unknown"}); err != nil || len(cards) != 0 {
		t.Errorf("no known MessageId: %v %v", cards, err)
	}
}
