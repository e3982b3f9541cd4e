package mailbox

import (
	"context"
	"sync"
)

// CardBatcher is a Transport that fetches the process cards of several
// messages in one request (one dialog instead of one per message). The
// send engine uses it, when the transport offers it, for the sent
// messages of a round that wait for their Laufzettel.
type CardBatcher interface {
	// FetchProcessCards returns the cards the intermediary has of ids,
	// keyed by MessageId; an id without a card is missing from the map.
	FetchProcessCards(ctx context.Context, ids []string) (map[string]ProcessCard, error)
}

// FetchProcessCards fetches the cards of ids through t: in one request
// when t is a CardBatcher, else one by one (an id without a card is left
// out). For transports that wrap another.
func FetchProcessCards(ctx context.Context, t Transport, ids []string) (map[string]ProcessCard, error) {
	if b, ok := t.(CardBatcher); ok {
		return b.FetchProcessCards(ctx, ids)
	}
	out := map[string]ProcessCard{}
	for _, id := range ids {
		c, err := t.FetchProcessCard(ctx, id)
		switch {
		case IsNotFound(err):
		case err != nil:
			return nil, err
		default:
			out[id] = c
		}
	}
	return out, nil
}

// maxCardBatch bounds the MessageIds asked for in one request.
const maxCardBatch = 100

// prefetched holds the process cards fetched for a round's sent messages,
// by message row.
type prefetched struct {
	mu    sync.Mutex
	cards map[int64]ProcessCard
	errs  map[int64]error
}

// take returns and forgets what was fetched for m: its card, or the
// error of the batch it was in; ok is false when nothing was.
func (p *prefetched) take(id int64) (ProcessCard, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.cards[id]; ok {
		delete(p.cards, id)
		return c, true, nil
	}
	if err, ok := p.errs[id]; ok {
		delete(p.errs, id)
		return ProcessCard{}, true, err
	}
	return ProcessCard{}, false, nil
}

// prefetchCards asks, per mailbox, for the cards of the lane's sent
// messages in batches, when their transport is a CardBatcher and more than
// one waits. A message whose card the answer lacks asks on its own.
func (s *Sender) prefetchCards(ctx context.Context, lane []Message, p *prefetched) {
	byMailbox := map[string][]Message{}
	var order []string
	for _, m := range lane {
		if m.State != StateSent || m.OSCIMessageID == "" {
			continue
		}
		if _, ok := byMailbox[m.Mailbox]; !ok {
			order = append(order, m.Mailbox)
		}
		byMailbox[m.Mailbox] = append(byMailbox[m.Mailbox], m)
	}
	for _, name := range order {
		ms := byMailbox[name]
		for len(ms) > 1 {
			batch := ms[:min(len(ms), maxCardBatch)]
			ms = ms[len(batch):]
			t, err := s.Transport(batch[0])
			if err != nil {
				break
			}
			b, ok := t.(CardBatcher)
			if !ok {
				break
			}
			ids := make([]string, len(batch))
			for i, m := range batch {
				ids[i] = m.OSCIMessageID
			}
			cards, err := b.FetchProcessCards(ctx, ids)
			p.mu.Lock()
			for _, m := range batch {
				switch c, ok := cards[m.OSCIMessageID]; {
				case err != nil:
					p.errs[m.ID] = err
				case ok:
					p.cards[m.ID] = c
				}
			}
			p.mu.Unlock()
		}
	}
}
