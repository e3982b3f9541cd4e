package mailbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// ReasonUnreadable is the LastErrorCode of an incoming message parked
// because the delivery, received completely, could not be read: the row
// holds the original as received and nothing else, in StateQuarantined.
const ReasonUnreadable = "unreadable"

// ErrUnreadable matches every *UnreadableError.
var ErrUnreadable = errors.New("mailbox: delivery unreadable")

// UnreadableError is how a Session (FetchDelivery) or a Reprocessor says
// that a delivery arrived completely but cannot be read: the response
// failed to parse, decrypt or yield its documents. It may be returned only
// after the whole response was received, and a Session must stay usable
// after it, as after a delivery, since the engine's next request
// acknowledges the delivery once it is parked. A failure with nothing (or
// not all) received is another error: it is never parked.
type UnreadableError struct {
	// Original is the response exactly as received, read before the
	// session is used again. Reprocess ignores it (the stored original is
	// kept).
	Original io.Reader
	// Reason says what failed, short and without personal data (e.g.
	// "decrypt: no recipient key"); it becomes LastErrorText.
	Reason string
	Err    error
}

func (e *UnreadableError) Error() string {
	if e.Err == nil {
		return ErrUnreadable.Error() + ": " + e.Reason
	}
	return ErrUnreadable.Error() + ": " + e.Reason + ": " + e.Err.Error()
}

func (e *UnreadableError) Unwrap() error        { return e.Err }
func (e *UnreadableError) Is(target error) bool { return target == ErrUnreadable }

// OriginalFetcher is implemented by a Session that can fetch a delivery
// without reading it: the response as received, parsed no further than
// the dialog needs. The engine uses it for a delivery whose earlier reads
// ended without an outcome (the process stopped while reading it), so
// that it is parked instead of read again.
type OriginalFetcher interface {
	FetchOriginal(ctx context.Context, osciMessageID string) (io.Reader, error)
}

// Reprocessor reads a parked delivery again from its stored original, as
// the bridge reads a fetched response (parse, decrypt, verify), without
// the intermediary. It returns the delivery as FetchDelivery would (the
// Original field is not used: the stored one stays), or an error, an
// *UnreadableError when the original still cannot be read.
type Reprocessor interface {
	Reprocess(ctx context.Context, mailbox, osciMessageID string, original io.Reader) (*Delivery, error)
}

// Reprocess is the operator's "read it again" for a parked delivery
// (StateQuarantined with ReasonUnreadable): it hands the stored original
// to r. When r reads it, the message continues like a fresh delivery: its
// documents and metadata are stored beside the original and it becomes
// received, due at now, so the intake engine verifies it and moves it on
// (intake or quarantine). When r fails, the message stays parked with the
// new reason. Both outcomes are journaled ("reread") with actor. Releasing
// a parked delivery unread is OpRequeue: the intake then receives the
// original and the reason in the Prüfprotokoll.
func Reprocess(ctx context.Context, st Store, blobs BlobStore, r Reprocessor, id int64, actor string, now time.Time) (Message, error) {
	m, err := st.Get(ctx, id)
	if err != nil {
		return Message{}, err
	}
	if m.Direction != In || m.State != StateQuarantined || m.LastErrorCode != ReasonUnreadable {
		return Message{}, &TransitionError{ID: m.ID, From: m.State, To: StateReceived, Op: "reprocess"}
	}
	var orig Document
	for _, d := range m.Documents {
		if d.Role == RoleOriginal {
			orig = d
		}
	}
	if orig.SHA256 == "" {
		return Message{}, fmt.Errorf("%w: message %d has no original", ErrBlobMissing, m.ID)
	}
	rc, err := blobs.Open(orig.SHA256)
	if err != nil {
		return Message{}, err
	}
	d, rerr := r.Reprocess(ctx, m.Mailbox, m.OSCIMessageID, rc)
	rc.Close()
	if rerr == nil && d == nil {
		rerr = &UnreadableError{Reason: "the reprocessor returned no delivery"}
	}
	if rerr == nil && d.MessageID != m.OSCIMessageID {
		rerr = fmt.Errorf("%w: the original reads as MessageId %q", ErrInvalidInput, d.MessageID)
	}
	if rerr != nil {
		if ctx.Err() != nil {
			return Message{}, rerr
		}
		var ue *UnreadableError
		reason := rerr.Error()
		if errors.As(rerr, &ue) {
			reason = ue.Reason
		}
		return st.Reread(ctx, Reread{ID: m.ID, Actor: actor, Now: now, Failure: reason})
	}
	n, err := readDelivery(blobs, d, orig, now)
	if err != nil {
		return Message{}, err
	}
	n.Mailbox = m.Mailbox
	return st.Reread(ctx, Reread{ID: m.ID, Actor: actor, Now: now, Read: &n})
}

// parked is the row of a delivery parked unread: its original and the
// reason, which the Prüfprotokoll shows as a problem.
func parked(mailbox, osciID string, orig BlobRef, reason string, attempts int, now time.Time) (NewIncoming, error) {
	docs := []Document{{Role: RoleOriginal, Name: FileOriginal, ContentType: "multipart/related", SHA256: orig.SHA256, Size: orig.Size}}
	meta, err := json.Marshal(IncomingMeta{Report: VerificationReport{CheckedAt: now.UTC(),
		Problems: []string{fmt.Sprintf("delivery unreadable after %d attempts: %s", attempts, reason)}}})
	if err != nil {
		return NewIncoming{}, fmt.Errorf("mailbox: encode delivery metadata: %w", err)
	}
	return NewIncoming{Mailbox: mailbox, OSCIMessageID: osciID, ContentSHA256: IncomingDigest(docs), Size: orig.Size, Meta: meta,
		Documents: docs, Now: now, Unreadable: reason, Attempts: attempts}, nil
}
