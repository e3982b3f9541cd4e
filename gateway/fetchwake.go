package gateway

import (
	"context"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// fetchWakes wakes the fetch loop of one of our mailboxes when the send
// engine stored a delivery addressed to it at the intermediary (messages
// between the mailboxes of one gateway): the delivery is then fetched at
// once instead of at the next poll. It is built before the loops start
// and only read afterwards.
type fetchWakes struct {
	byName   map[string]chan struct{}
	bySafeID map[string]chan struct{}
}

func newFetchWakes(rt *runtimeConfig) *fetchWakes {
	w := &fetchWakes{byName: map[string]chan struct{}{}, bySafeID: map[string]chan struct{}{}}
	for _, m := range rt.cfg.Mailboxes {
		c := make(chan struct{}, 1)
		w.byName[m.Name], w.bySafeID[m.SafeID] = c, c
	}
	return w
}

// of returns the wake channel of a mailbox (nil, which never fires, for
// one the gateway started without).
func (w *fetchWakes) of(name string) <-chan struct{} {
	if w == nil {
		return nil
	}
	return w.byName[name]
}

// stored wakes the fetch loop of the mailbox with this SAFE-ID, if it is ours.
func (w *fetchWakes) stored(safeID string) {
	if w == nil {
		return
	}
	if c, ok := w.bySafeID[safeID]; ok {
		notify(c)
	}
}

// wakingTransport wakes our recipient mailbox's fetch loop after a store.
type wakingTransport struct {
	mailbox.Transport
	wakes *fetchWakes
}

func (t wakingTransport) StoreDelivery(ctx context.Context, o *mailbox.OutgoingDelivery) (mailbox.ProcessCard, error) {
	c, err := t.Transport.StoreDelivery(ctx, o)
	if err == nil {
		t.wakes.stored(o.Recipient)
	}
	return c, err
}

func (t wakingTransport) FetchProcessCards(ctx context.Context, ids []string) (map[string]mailbox.ProcessCard, error) {
	return mailbox.FetchProcessCards(ctx, t.Transport, ids)
}
