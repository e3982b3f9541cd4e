package osci

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"sync"
)

// implicit runs one order in its own implicit dialog.
func (c *Client) implicit(ctx context.Context, m *Message, x exchange) (*Verified, error) {
	d := NewDialog(c.cfg.Rand)
	cb, err := d.Request(m.Type)
	if err != nil {
		return nil, err
	}
	m.ControlBlock = cb
	x.req = m
	v, _, err := c.do(ctx, x)
	if err != nil {
		return nil, err
	}
	if err := d.Response(v.Type, v.ControlBlock); err != nil {
		return nil, &TransportError{Stage: StageSent, StatusCode: 200, Err: err}
	}
	return v, v.Feedback.Err()
}

// GetMessageID asks the intermediary for a fresh MessageId (implicit dialog).
// The id can be used for exactly one storeDelivery.
func (c *Client) GetMessageID(ctx context.Context) (string, error) {
	v, err := c.implicit(ctx, &Message{Type: TypeGetMessageID}, exchange{})
	if err != nil {
		return "", err
	}
	if v.MessageID == "" {
		return "", fmt.Errorf("%w: responseToGetMessageId without MessageId", ErrInvalidOrder)
	}
	return v.MessageID, nil
}

// OutgoingAttachment is an attachment part as transmitted (ciphertext when
// content-encrypted). Open is called once for the signature digest and
// once for sending.
type OutgoingAttachment struct {
	ContentID string
	Size      int64
	Open      func() (io.ReadCloser, error)
}

// OutgoingDelivery is what StoreDelivery sends.
type OutgoingDelivery struct {
	MessageID string
	Subject   string            // EGVP message type, e.g. "Allgemeine Nachricht"
	Addressee *x509.Certificate // the addressee's cipher certificate
	Readers   []*x509.Certificate
	// Content is the canonical osci:ContentPackage (PackageBuilder); its
	// EncryptedKeys name readers by ReaderIDs(Readers).
	Content     []byte
	Attachments []OutgoingAttachment
}

// ReaderIDs returns the readers with the certificate Ids StoreDelivery
// writes for them (reader0, reader1, ...), for PackageBuilder.AddEncrypted.
func ReaderIDs(readers []*x509.Certificate) []Reader {
	out := make([]Reader, len(readers))
	for i, r := range readers {
		out[i] = Reader{Cert: r, ID: NewCertEntry(CipherOtherReader, i, r).ID}
	}
	return out
}

// StoreDelivery sends a delivery in an implicit dialog and returns the
// process card with its Creation time. Only a verified answer refuses the
// store (*FeedbackError). An ambiguous error (IsAmbiguous: no answer, a SOAP
// fault, an answer whose signature does not verify) means the store may
// have happened: ask FetchProcessCard for d.MessageID instead of sending
// again (a second store gets 9801).
func (c *Client) StoreDelivery(ctx context.Context, d OutgoingDelivery) (*ProcessCardBundle, error) {
	if d.Addressee == nil {
		return nil, fmt.Errorf("%w: no addressee certificate", ErrInvalidOrder)
	}
	m := &Message{Type: TypeStoreDelivery, MessageID: d.MessageID, Subject: d.Subject, Content: d.Content,
		NonIntermediary: Certificates{NewCertEntry(CipherOriginator, 0, c.cfg.Cipher.Cert), NewCertEntry(CipherAddressee, 0, d.Addressee)}}
	for _, r := range ReaderIDs(d.Readers) {
		m.NonIntermediary = append(m.NonIntermediary, CertEntry{Element: CipherOtherReader, ID: r.ID, Cert: r.Cert})
	}
	byID := map[string]OutgoingAttachment{}
	x := exchange{}
	for _, a := range d.Attachments {
		byID[a.ContentID] = a
		body, err := a.Open()
		if err != nil {
			return nil, fmt.Errorf("osci: attachment %q: %w", a.ContentID, err)
		}
		defer body.Close()
		x.attachments = append(x.attachments, Attachment{ContentID: a.ContentID, Size: a.Size, Body: body})
	}
	x.open = func(cid string) (io.ReadCloser, error) {
		a, ok := byID[cid]
		if !ok {
			return nil, fmt.Errorf("osci: no attachment %q", cid)
		}
		return a.Open()
	}
	v, err := c.implicit(ctx, m, x)
	if err != nil {
		return nil, err
	}
	if len(v.ProcessCards) != 1 || v.ProcessCards[0].MessageID != d.MessageID || v.ProcessCards[0].ProcessCard.Creation == nil {
		return nil, &TransportError{Stage: StageSent, StatusCode: 200, Err: fmt.Errorf("%w: responseToStoreDelivery without a process card for the message", ErrInvalidOrder)}
	}
	return &v.ProcessCards[0], nil
}

// StoreDeliveryResolved is StoreDelivery that resolves an ambiguous outcome
// itself: it asks for the process card of d.MessageID instead of sending
// again. A card with Creation means the store happened. No card, said by a
// verified answer (ErrFeedbackNoProcessCard), means it did not, and the
// original error is returned as not ambiguous: sending again, with the same
// MessageId, is safe. It is temporary unless it was a fault whose code is
// permanent: once the store provably did not happen, the fault's word is
// taken for why. If the question cannot be answered either, the result
// stays ambiguous.
func (c *Client) StoreDeliveryResolved(ctx context.Context, d OutgoingDelivery) (*ProcessCardBundle, error) {
	card, err := c.StoreDelivery(ctx, d)
	if err == nil || !IsAmbiguous(err) {
		return card, err
	}
	pc, rerr := c.FetchProcessCard(ctx, d.MessageID)
	switch {
	case rerr == nil && pc.ProcessCard.Creation != nil:
		return pc, nil
	case errors.Is(rerr, ErrFeedbackNoProcessCard) && !errors.Is(rerr, ErrUnverified):
		r := &resolvedError{err: err, temporary: true}
		var fault *FaultError
		if errors.As(err, &fault) {
			r.temporary = fault.Code.Temporary()
		}
		return nil, fmt.Errorf("%w (resolved: no process card, the store did not happen)", r)
	}
	return nil, fmt.Errorf("%w; resolving by process card failed: %v", err, rerr)
}

// resolvedError hides the ambiguity of a store that provably did not happen;
// the original error stays in the chain for its code and sentinels.
type resolvedError struct {
	err       error
	temporary bool
}

func (r *resolvedError) Error() string { return r.err.Error() }
func (r *resolvedError) Unwrap() error { return r.err }

// Ambiguous: no longer; the process card settled it.
func (r *resolvedError) Ambiguous() bool { return false }

// Temporary: the store can be repeated, unless a fault said why it cannot.
func (r *resolvedError) Temporary() bool { return r.temporary }

// Session is an explicit dialog for fetching. After FetchDelivery hands out
// a delivery, the session sends nothing until Acknowledge: the intermediary
// records the delivery as received when it sees the next order in the
// dialog, so that order must only go out once the delivery is durable.
// A Session is not safe for concurrent use.
type Session struct {
	c      *Client
	d      *Dialog
	unack  string
	unread string // MessageId of a delivery whose response arrived whole but unreadable
	closed bool
	mu     sync.Mutex
}

// OpenSession sends initDialog and returns the open dialog.
func (c *Client) OpenSession(ctx context.Context) (*Session, error) {
	s := &Session{c: c, d: NewDialog(c.cfg.Rand)}
	if _, err := s.order(ctx, &Message{Type: TypeInitDialog}, exchange{}); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Session) order(ctx context.Context, m *Message, x exchange) (*Verified, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return nil, ErrSessionClosed
	case s.unack != "":
		return nil, fmt.Errorf("%w: %s", ErrUnacknowledged, s.unack)
	}
	cb, err := s.d.Request(m.Type)
	if err != nil {
		return nil, err
	}
	m.ControlBlock = cb
	x.req = m
	whole := false
	x.whole = &whole
	v, _, err := s.c.do(ctx, x)
	if err != nil {
		// A delivery handed out whole but unreadable may be resumed
		// (ResumeUnreadable); any other failure ends the dialog.
		if whole && m.Type == TypeFetchDelivery && m.Selection != nil && len(m.Selection.MessageIDs) == 1 {
			s.d.Unread()
			s.unread = m.Selection.MessageIDs[0]
		} else {
			s.d.Abort()
		}
		s.closed = true
		return nil, err
	}
	if err := s.d.Response(v.Type, v.ControlBlock); err != nil {
		s.closed = true
		return nil, &TransportError{Stage: StageSent, StatusCode: 200, Err: err}
	}
	if m.Type == TypeExitDialog {
		s.closed = true
	}
	return v, v.Feedback.Err()
}

// ProcessCards fetches process cards (fetchProcessCard). more reports
// feedback 3801 (further cards present). No match is ErrFeedbackNoProcessCard.
func (s *Session) ProcessCards(ctx context.Context, sel *SelectionRule, limit int) (cards []ProcessCardBundle, more bool, err error) {
	v, err := s.order(ctx, &Message{Type: TypeFetchProcessCard, Selection: sel, QuantityLimit: limit}, exchange{})
	if err != nil {
		return nil, false, err
	}
	return v.ProcessCards, v.Feedback.Has(CodeMoreProcessCards), nil
}

// Delivery is one fetched delivery: the verified response (its content
// package is read with OpenContentPackage), the sender's certificates and
// the attachments, which the store received as transmitted.
type Delivery struct {
	MessageID string
	Response  *Verified
	Card      *ProcessCardBundle
	Sender    Certificates // NonIntermediaryCertificates of the original store
	More      bool         // feedback 3800: further deliveries present
}

// FetchDelivery fetches the delivery with messageID (fetchDelivery). Its
// attachments go to store as they stream in. No match is
// ErrFeedbackNoDelivery. On success the session waits for Acknowledge.
func (s *Session) FetchDelivery(ctx context.Context, messageID string, store AttachmentStore) (*Delivery, error) {
	m := &Message{Type: TypeFetchDelivery, Selection: &SelectionRule{MessageIDs: []string{messageID}}}
	v, err := s.order(ctx, m, exchange{sink: store})
	if err != nil {
		return nil, err
	}
	d, err := newDelivery(v, messageID)
	if err != nil {
		return nil, &TransportError{Stage: StageSent, StatusCode: 200, Err: err}
	}
	s.mu.Lock()
	s.unack = messageID
	s.mu.Unlock()
	return d, nil
}

// Acknowledge tells the session that the delivery handed out last is
// durable; the next order in the dialog will acknowledge its reception.
func (s *Session) Acknowledge(messageID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unack != messageID {
		return fmt.Errorf("%w: %q is not the pending delivery", ErrUnacknowledged, messageID)
	}
	s.unack = ""
	return nil
}

// Idle reports whether the dialog is open with nothing handed out that
// the next order would acknowledge: it may then wait for a later order
// (a dialog kept open between polls).
func (s *Session) Idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.closed && s.unack == "" && s.unread == ""
}

// Close sends exitDialog. It refuses while a delivery is unacknowledged.
func (s *Session) Close(ctx context.Context) error {
	_, err := s.order(ctx, &Message{Type: TypeExitDialog}, exchange{})
	return err
}

// Abandon ends the session without sending anything (for a delivery that
// could not be stored: the intermediary keeps it as not received).
func (s *Session) Abandon() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed, s.unread = true, ""
	s.d.Abort()
}

// FetchProcessCard returns the process card of one of our deliveries in a
// short explicit dialog; ErrFeedbackNoProcessCard when the intermediary has none.
func (c *Client) FetchProcessCard(ctx context.Context, messageID string) (*ProcessCardBundle, error) {
	cards, err := c.FetchProcessCards(ctx, []string{messageID})
	if err != nil {
		return nil, err
	}
	if len(cards) == 0 {
		return nil, ErrFeedbackNoProcessCard
	}
	return &cards[0], nil
}

// FetchProcessCards returns the process cards of several of our deliveries
// in one short explicit dialog (one fetchProcessCard selecting all their
// MessageIds), only those of messageIDs; ErrFeedbackNoProcessCard when the
// intermediary has none of them. Cards the answer leaves out (it may stop
// at its own limit, feedback 3801) are missing from the result.
func (c *Client) FetchProcessCards(ctx context.Context, messageIDs []string) ([]ProcessCardBundle, error) {
	s, err := c.OpenSession(ctx)
	if err != nil {
		return nil, err
	}
	cards, err := s.CardsOf(ctx, messageIDs)
	if cerr := s.Close(ctx); err == nil && cerr != nil && !errors.Is(cerr, ErrSessionClosed) {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return cards, nil
}

// CardsOf asks in this dialog for the process cards of several of our
// deliveries (one fetchProcessCard selecting all their MessageIds) and
// returns only those of messageIDs, each once; ErrFeedbackNoProcessCard
// when the intermediary has none of them. Cards the answer leaves out
// (it may stop at its own limit, feedback 3801) are missing. The order
// acknowledges a delivery handed out before in the dialog, as any does.
func (s *Session) CardsOf(ctx context.Context, messageIDs []string) ([]ProcessCardBundle, error) {
	cards, _, err := s.ProcessCards(ctx, &SelectionRule{MessageIDs: messageIDs}, 0)
	if err != nil {
		return nil, err
	}
	want := make(map[string]bool, len(messageIDs))
	for _, id := range messageIDs {
		want[id] = true
	}
	var out []ProcessCardBundle
	for i := range cards {
		if want[cards[i].MessageID] {
			want[cards[i].MessageID] = false // once each
			out = append(out, cards[i])
		}
	}
	if len(out) == 0 {
		return nil, ErrFeedbackNoProcessCard
	}
	return out, nil
}
