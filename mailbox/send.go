package mailbox

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Transport is the intermediary as the send engine needs it. The osci
// client implements it; its errors carry Temporary(), Ambiguous(),
// NotFound() and Code() as described at Classify.
type Transport interface {
	// GetMessageID asks the intermediary for a fresh MessageId.
	GetMessageID(ctx context.Context) (string, error)
	// StoreDelivery sends the delivery under d.MessageID and returns the
	// process card of the intermediary's acceptance (Creation set).
	StoreDelivery(ctx context.Context, d *OutgoingDelivery) (ProcessCard, error)
	// FetchProcessCard returns the Laufzettel of a MessageId we sent, or an
	// error with NotFound() true when the intermediary has none (9804).
	FetchProcessCard(ctx context.Context, osciMessageID string) (ProcessCard, error)
}

// OutgoingDelivery is what StoreDelivery sends. Documents are read from
// the blob store while sending.
type OutgoingDelivery struct {
	MessageID string
	Mailbox   string
	Recipient string
	Subject   string
	Meta      []byte // NewOutgoing.Meta as submitted (case numbers, recipient certificate, …)
	Documents []IntakeFile
}

// Sender is the send engine: it claims due outgoing messages and moves
// them along queued → id_assigned → sending → sent → confirmed.
type Sender struct {
	Store Store
	Blobs BlobStore
	// Transport returns the transport for a message: the one of its
	// mailbox, towards the intermediary its recipient lives at.
	Transport func(m Message) (Transport, error)
	// Lane names the lane of a message (nil: one lane for all). Messages
	// of one lane are worked on in order, the lanes of a round side by
	// side: with a lane per intermediary, one that does not answer holds
	// up only the messages to it.
	Lane func(m Message) string
	// LaneWidth is how many messages of one lane are sent at once
	// (default 1). Above 1, a message's signing and encryption overlap
	// with another's round trip; they start in claim order, each under
	// its own lease and state machine, so the guarantees per message hold
	// (the intermediary may then receive them in another order).
	LaneWidth int
	Policy    RetryPolicy // temporary failures; default DefaultSendPolicy
	// Confirm paces the polling of a sent message's Laufzettel until
	// Reception is recorded; after its Lifetime the message stays sent.
	Confirm RetryPolicy
	Owner   string
	Lease   time.Duration // default 5 minutes; must exceed the longest request
	Batch   int           // default 16
	Now     func() time.Time
	Rand    io.Reader
	// Stale carries leases a failed round could not end into the next
	// round; a worker keeps one for all its rounds. Nil: none are kept.
	Stale *StaleLeases
}

func (s *Sender) defaults() {
	if s.Policy.Initial == 0 {
		s.Policy = DefaultSendPolicy()
	}
	if s.Confirm.Initial == 0 {
		s.Confirm = RetryPolicy{Initial: 5 * time.Minute, Factor: 2, Max: time.Hour, Lifetime: 14 * 24 * time.Hour, Jitter: EqualJitter}
	}
	if s.Lease == 0 {
		s.Lease = 5 * time.Minute
	}
	if s.Batch == 0 {
		s.Batch = 16
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Owner == "" {
		s.Owner = "sender"
	}
}

// RunOnce works through one batch of due messages and returns how many it
// claimed. Failures of single messages are recorded on them; an error is
// returned only when the store itself fails (then the caller stops).
func (s *Sender) RunOnce(ctx context.Context) (int, error) {
	s.defaults()
	pre := &prefetched{cards: map[int64]ProcessCard{}, errs: map[int64]error{}}
	r := leaseRound{store: s.Store, dir: Out, owner: s.Owner, lease: s.Lease, batch: s.Batch, now: s.Now, stale: s.Stale, lane: s.Lane, width: s.LaneWidth,
		prepare: func(ctx context.Context, lane []Message) { s.prefetchCards(ctx, lane, pre) }}
	return r.run(ctx, func(ctx context.Context, m Message) error { return s.process(ctx, m, pre) })
}

// step applies a change to m as the lease holder.
func (s *Sender) step(ctx context.Context, m Message, c Change) (Message, error) {
	c.ID, c.Owner, c.Token, c.Now = m.ID, s.Owner, m.LeaseToken, s.Now()
	return s.Store.Apply(ctx, c)
}

func (s *Sender) process(ctx context.Context, m Message, pre *prefetched) error {
	t, err := s.Transport(m)
	if err != nil {
		return s.retry(ctx, m, m.State, Temporary, "config", err.Error(), time.Time{})
	}
	switch m.State {
	case StateQueued:
		id, err := t.GetMessageID(ctx)
		if err != nil {
			class := Classify(err)
			if class == Ambiguous { // nothing was sent yet
				class = Temporary
			}
			return s.retry(ctx, m, StateQueued, class, ErrorCode(err), err.Error(), RetryAt(err))
		}
		// The MessageId is durable before storeDelivery can use it.
		if m, err = s.step(ctx, m, Change{To: StateIDAssigned, OSCIMessageID: id, KeepLease: true, Next: s.Now()}); err != nil {
			return ignoreLost(err)
		}
		return s.send(ctx, t, m, false)
	case StateIDAssigned:
		return s.send(ctx, t, m, false)
	case StateSending:
		return s.resolve(ctx, t, m)
	case StateSent:
		return s.poll(ctx, t, m, pre)
	}
	return nil
}

// send records that the request is about to leave, then sends it.
func (s *Sender) send(ctx context.Context, t Transport, m Message, resend bool) error {
	var err error
	proven := false
	if m.State != StateSending {
		if m, err = s.step(ctx, m, Change{To: StateSending, KeepLease: true, Next: s.Now()}); err != nil {
			return ignoreLost(err)
		}
		proven = true
	}
	d, err := s.delivery(m)
	if err != nil {
		return s.retry(ctx, m, StateSending, Permanent, "blob", err.Error(), time.Time{})
	}
	var card ProcessCard
	err = withLease(ctx, s.Store, m, s.Owner, s.Lease, s.Now, proven, func(ctx context.Context) error {
		if resend {
			if _, err := s.Store.Append(ctx, EventInput{At: s.Now(), MessageID: m.ID, Kind: "resend",
				Detail: map[string]string{"osci_message_id": m.OSCIMessageID, "reason": "no process card after an unknown outcome"}}); err != nil {
				return err
			}
		}
		var err error
		card, err = t.StoreDelivery(ctx, d)
		return err
	})
	if isLeaseLost(err) {
		return nil // another worker or an operator owns the message now
	}
	if err != nil {
		// Even a "temporary" failure stays in sending: the next attempt asks
		// for the process card first. That costs one request and does not
		// depend on every transport telling "not sent" from "sent, no answer".
		class, code := Classify(err), ErrorCode(err)
		if resend && code == CodeMessageIDUsed {
			// The intermediary knows this MessageId after all (its process
			// card lagged): parking would invite a second send under a fresh
			// id, so keep asking for the card instead.
			class = Ambiguous
		}
		return s.retry(ctx, m, StateSending, class, code, err.Error(), RetryAt(err))
	}
	return s.accepted(ctx, m, card)
}

// resolve settles a message whose storeDelivery outcome is unknown by
// asking for its Laufzettel instead of sending it twice.
func (s *Sender) resolve(ctx context.Context, t Transport, m Message) error {
	card, err := t.FetchProcessCard(ctx, m.OSCIMessageID)
	switch {
	case err == nil && !card.Creation.IsZero():
		return s.accepted(ctx, m, card)
	case err == nil || IsNotFound(err):
		// The intermediary never accepted it: send again under the same
		// MessageId (which it would refuse with 9801 if it had been used).
		return s.send(ctx, t, m, true)
	}
	class := Classify(err)
	if class == Permanent { // the lookup failed, not the delivery: keep asking
		class = Ambiguous
	}
	return s.retry(ctx, m, StateSending, class, ErrorCode(err), "process card lookup: "+err.Error(), RetryAt(err))
}

func (s *Sender) accepted(ctx context.Context, m Message, card ProcessCard) error {
	if card.OSCIMessageID == "" {
		card.OSCIMessageID = m.OSCIMessageID
	}
	c := Change{To: StateSent, Card: &card, ClearError: true, Next: s.Now().Add(s.Confirm.Delay(1, s.Rand))}
	if !card.Reception.IsZero() {
		c.To, c.Next = StateConfirmed, time.Time{}
	}
	_, err := s.step(ctx, m, c)
	return ignoreLost(err)
}

// poll asks for the Laufzettel of a sent message until Reception shows.
// Its card may have come with the round's batch (prefetchCards).
func (s *Sender) poll(ctx context.Context, t Transport, m Message, pre *prefetched) error {
	card, ok, err := pre.take(m.ID)
	if !ok {
		card, err = t.FetchProcessCard(ctx, m.OSCIMessageID)
	}
	now := s.Now()
	if err == nil && !card.Reception.IsZero() {
		if card.OSCIMessageID == "" {
			card.OSCIMessageID = m.OSCIMessageID
		}
		_, err = s.step(ctx, m, Change{To: StateConfirmed, Card: &card, ClearError: true})
		return ignoreLost(err)
	}
	c := Change{To: StateSent, Next: now.Add(s.Confirm.Delay(m.Attempts, s.Rand))}
	if err != nil {
		c.ErrCode, c.ErrText = ErrorCode(err), "process card lookup: "+err.Error()
	} else {
		c.Card = &card
	}
	if s.Confirm.Exhausted(0, m.CreatedAt, now) {
		c.Next = time.Time{} // stop polling; the message stays sent
	}
	_, err = s.step(ctx, m, c)
	return ignoreLost(err)
}

// retry defers m in state to, or parks it as failed when the error is
// permanent or the policy is exhausted. A message whose delivery may have
// happened (ambiguous, or in sending) is not parked for exhaustion: it
// keeps asking for its Laufzettel at the longest interval, because parking
// could lead an operator to send it twice.
//
// hint is when the peer said to come back (RetryAt: an intermediary whose
// circuit opens again then); an earlier hint than the policy's delay wins,
// so messages that waited for an outage go out as soon as it is over.
func (s *Sender) retry(ctx context.Context, m Message, to State, class Class, code, text string, hint time.Time) error {
	now := s.Now()
	c := Change{To: to, ErrCode: code, ErrText: text, Detail: map[string]string{"class": class.String()}}
	if c.ErrCode == "" {
		c.ErrCode = class.String()
	}
	// A message in sending may have been delivered: until the process card
	// settles it, only a refusal by the intermediary parks it.
	unresolved := class == Ambiguous || to == StateSending
	switch {
	case class == Permanent:
		c.To = StateFailed
	case unresolved && s.Policy.Exhausted(m.Attempts, m.CreatedAt, now):
		c.Next = now.Add(s.Policy.Max)
	case s.Policy.Exhausted(m.Attempts, m.CreatedAt, now):
		c.To = StateFailed
		c.ErrText = "retry lifetime exhausted: " + text
	default:
		c.Next = now.Add(s.Policy.Delay(m.Attempts, s.Rand))
		if !hint.IsZero() && hint.Before(c.Next) {
			c.Next = hint
			if hint.Before(now) {
				c.Next = now
			}
		}
	}
	_, err := s.step(ctx, m, c)
	return ignoreLost(err)
}

// ignoreLost turns a lost lease into success for the engine loop: another
// worker or an operator owns the message now. Store failures stay errors.
func ignoreLost(err error) error {
	if err == nil || isLeaseLost(err) {
		return nil
	}
	return err
}

func (s *Sender) delivery(m Message) (*OutgoingDelivery, error) {
	d := &OutgoingDelivery{MessageID: m.OSCIMessageID, Mailbox: m.Mailbox, Recipient: m.Recipient, Subject: m.Subject, Meta: m.Meta}
	for _, doc := range m.Documents {
		if _, err := s.Blobs.Stat(doc.SHA256); err != nil {
			return nil, fmt.Errorf("%w: %s of message %d", ErrBlobMissing, doc.Name, m.ID)
		}
		d.Documents = append(d.Documents, blobFile(s.Blobs, doc))
	}
	return d, nil
}

// file describes a stored document for reading.
// A store that can link (BlobLinker) lets a sink link it instead.
func blobFile(b BlobStore, doc Document) IntakeFile {
	h := doc.SHA256
	f := IntakeFile{FileName: doc.Name, OriginalName: doc.Name, ContentType: doc.ContentType, Size: doc.Size, SHA256: h,
		Open: func() (io.ReadCloser, error) { return b.Open(h) }}
	if l, ok := b.(BlobLinker); ok {
		f.Link = func(newname string) error { return l.LinkTo(h, newname) }
	}
	return f
}
