package mailbox

import (
	"context"
	"errors"
	"time"
)

// Store is the system of record for messages, their documents, process
// cards, intake records and the audit journal. Every method that changes
// state commits durably before it returns nil, and appends its journal
// entry in the same transaction. Implementations share the rules in this
// package (CheckEngineTransition, OperatorTarget, the journal encoding) and
// must pass storetest.Run.
type Store interface {
	// Enqueue stores a new outgoing message in StateQueued. Its documents
	// must already be committed to the blob store. A repeated
	// IdempotencyKey returns the existing message with ErrDuplicate (same
	// content digest) or ErrDuplicateConflict (different content).
	Enqueue(ctx context.Context, m NewOutgoing) (Message, error)
	// GetByIdempotencyKey finds the outgoing message a submission key became.
	GetByIdempotencyKey(ctx context.Context, key string) (Message, error)
	// CountByState counts messages per direction, mailbox and state.
	CountByState(ctx context.Context) ([]StateCount, error)
	// InsertIncoming stores a fetched delivery in StateReceived. It returns
	// ErrDuplicate (and the existing row) when the mailbox already holds an
	// incoming message with the MessageId and the same content, and
	// ErrDuplicateConflict when it holds one with different content. An
	// outgoing message under the same MessageId (a mailbox that sent to
	// itself) is another message and never a duplicate. A different
	// MessageId carrying content the mailbox already has (same
	// ContentSHA256) is stored like any other, with SameContentAs set to the
	// MessageId of the earliest incoming message with that content. With
	// Unreadable set the delivery is parked: stored in StateQuarantined
	// with LastErrorCode ReasonUnreadable. Storing it (or finding it
	// stored) forgets the reads counted by BeginFetch.
	InsertIncoming(ctx context.Context, m NewIncoming) (Message, error)
	// BeginFetch durably counts a read of delivery osciID for mailbox
	// before it starts and returns the reads counted, this one included,
	// so a read that stops the process counts too.
	BeginFetch(ctx context.Context, mailbox, osciID string, now time.Time) (int, error)
	// EndFetch records the end of a read that stored nothing (see
	// FetchEnd). Unknown deliveries are no error.
	EndFetch(ctx context.Context, e FetchEnd) error
	// Reread records a new reading of a parked message (StateQuarantined
	// with ReasonUnreadable, else ErrInvalidTransition); see Reread and
	// Reprocess.
	Reread(ctx context.Context, r Reread) (Message, error)

	Get(ctx context.Context, id int64) (Message, error)
	// GetByOSCIMessageID finds the message of one direction that a mailbox
	// holds under a MessageId: a message to oneself has an outgoing and an
	// incoming copy under the same one.
	GetByOSCIMessageID(ctx context.Context, dir Direction, mailbox, osciID string) (Message, error)
	List(ctx context.Context, f Filter) ([]Message, error)

	// ClaimDue leases up to limit messages of one direction whose next
	// attempt is due and whose lease is free or expired, raising Attempts
	// and LeaseToken. Two claimers never receive the same row.
	ClaimDue(ctx context.Context, dir Direction, now time.Time, owner string, lease time.Duration, limit int) ([]Message, error)
	// RecoverExpired frees the leases that ended before now and journals
	// each; the state is left as it was (see the package doc).
	RecoverExpired(ctx context.Context, now time.Time) ([]Message, error)
	// ExtendLease moves the end of a lease the caller holds to until; it
	// returns ErrLeaseLost when the caller no longer holds it.
	ExtendLease(ctx context.Context, id int64, owner string, token int64, until time.Time) error
	// Apply makes an engine transition on a message the caller has leased.
	// It fails with ErrLeaseLost when the lease token no longer matches and
	// with ErrInvalidTransition when the rules forbid the change.
	Apply(ctx context.Context, c Change) (Message, error)
	// Operate makes an operator transition (hold, release, requeue, delete).
	Operate(ctx context.Context, a OperatorAction) (Message, error)

	ProcessCard(ctx context.Context, id int64) (ProcessCard, error)
	// UpdateProcessCard merges card into the stored Laufzettel of message
	// id (ErrNotFound if there is no such message): a time or subject the
	// card leaves empty keeps the stored one, so nothing already known is
	// removed. It journals "process_card" with the times the card carries.
	// An incoming message in StateReceived that is held for its receipt
	// (NewIncoming.NotBefore still ahead) and not leased becomes due at now,
	// in the same transaction; this is how the Fetcher makes a delivery
	// intake-claimable only once its Reception is stored.
	UpdateProcessCard(ctx context.Context, id int64, card ProcessCard, now time.Time) error
	IntakeRecord(ctx context.Context, id int64) (IntakeRecord, error)

	// Append adds a journal entry that belongs to no state change.
	Append(ctx context.Context, e EventInput) (Event, error)
	// Events returns journal entries with Seq > after, in order.
	Events(ctx context.Context, after int64, limit int) ([]Event, error)
	// MessageEvents returns the journal entries of one message, in order.
	MessageEvents(ctx context.Context, id int64) ([]Event, error)
	// AnchoredHead returns the journal head as kept outside the journal,
	// where deleting journal rows does not reach it; ErrNoAnchor when it
	// was removed. A store moves it forward after every commit that
	// appended entries, never backwards, and never past an anchored entry
	// that is no longer in the journal unchanged; see the package doc.
	AnchoredHead(ctx context.Context) (JournalHead, error)

	// Purge removes the content of the documents in p.Roles of up to
	// p.Limit messages of one mailbox and direction that reached their end
	// (PurgeableState) before p.Before: each document row stays with
	// PurgedAt set, the message row, its card, intake record and journal
	// stay, and one "purged" entry per message is journaled. Every blob
	// that no document left unpurged refers to any more is put on the
	// garbage list in the same transaction; the caller removes the files
	// (CollectGarbage).
	Purge(ctx context.Context, p PurgeRequest) (PurgeResult, error)
	// BlobGarbage returns up to limit blobs of the garbage list, in hash
	// order after the hash after ("" for the first page).
	BlobGarbage(ctx context.Context, after string, limit int) ([]string, error)
	// BlobReferenced reports whether a document not purged refers to the
	// blob with SHA-256 h (a message stored after the blob was put on the
	// garbage list, say).
	BlobReferenced(ctx context.Context, h string) (bool, error)
	// ForgetBlobGarbage takes blobs off the garbage list: their files are
	// gone, or a document refers to them again.
	ForgetBlobGarbage(ctx context.Context, hashes []string) error

	Close() error
}

// NewOutgoing is a message submitted for sending.
type NewOutgoing struct {
	Mailbox        string
	Recipient      string
	Subject        string
	Documents      []Document
	Meta           []byte // the submitter's metadata (JSON), handed to the transport as OutgoingDelivery.Meta
	IdempotencyKey string // optional; unique over all outgoing messages
	Now            time.Time
}

// PurgeRequest selects what Store.Purge removes.
type PurgeRequest struct {
	Mailbox   string
	Direction Direction
	// Before: messages that reached PurgeableState(Direction) (their
	// FinalizedAt) before this instant.
	Before time.Time
	Roles  []Role // default BodyRoles
	Limit  int    // messages per call; default 100
	Now    time.Time
}

// PurgeResult is what one Store.Purge call removed.
type PurgeResult struct {
	Messages  int   // messages with documents purged
	Documents int   // document rows marked purged
	Bytes     int64 // their recorded sizes
	Garbage   int   // blobs put on the garbage list
	More      bool  // Limit messages were purged: call again
}

// BodyRoles are the document bodies retention removes by default: the
// content documents and structured data. The original OSCI message
// (RoleOriginal) is the evidence of what arrived and is kept unless a
// rule names it.
var BodyRoles = []Role{RoleDocument, RoleStructured}

// PurgeableState is the end state after which retention may remove the
// documents of a message: delivered to the intake (incoming) or confirmed
// as fetched by the recipient (outgoing).
func PurgeableState(d Direction) State {
	if d == Out {
		return StateConfirmed
	}
	return StateDelivered
}

// StateCount is one row of CountByState.
type StateCount struct {
	Direction Direction
	Mailbox   string
	State     State
	N         int
}

// NewIncoming is a fetched delivery whose blobs are already durable.
type NewIncoming struct {
	Mailbox       string
	OSCIMessageID string
	ContentSHA256 string // IncomingDigest of the documents
	Size          int64
	Subject       string
	Sender        string
	Recipient     string
	Meta          []byte // JSON IncomingMeta
	Documents     []Document
	Card          *ProcessCard
	Now           time.Time
	// NotBefore holds the first intake attempt until then (zero or earlier
	// than Now: due at Now). The Fetcher holds a delivery until it has asked
	// for its receipt; UpdateProcessCard releases it early, and the hold
	// ends by itself if the process stops in between.
	NotBefore time.Time
	// Unreadable parks the delivery: why it could not be read (becomes
	// LastErrorText, with LastErrorCode ReasonUnreadable); Documents then
	// hold the original only. Attempts is the number of reads, journaled.
	Unreadable string
	Attempts   int
}

// FetchEnd ends a read counted by BeginFetch that stored nothing.
type FetchEnd struct {
	Mailbox       string
	OSCIMessageID string
	Now           time.Time
	// Unreadable is why a delivery received completely could not be read:
	// the read stays counted and is journaled ("fetch_unreadable"). Empty:
	// nothing usable arrived, or the failure was ours (a full disk), and
	// the read is taken back.
	Unreadable string
	// Clear forgets every read counted, so that a delivery no longer read
	// (NoticeSkipped) is read again: an operator's decision, journaled
	// ("fetch_cleared") with Actor.
	Clear bool
	Actor string
}

// Reread is the outcome of reading a parked delivery again (Reprocess).
// With Failure set the message stays parked with Failure as its reason;
// otherwise Read (whose OSCIMessageID and Mailbox must match the row)
// replaces its documents (the original among them), metadata, sender,
// recipient, subject, digest and card, and the message becomes received,
// due at Now, to be verified and handed on like a fresh delivery. Both are
// journaled ("reread") with Actor.
type Reread struct {
	ID      int64
	Actor   string
	Now     time.Time
	Failure string
	Read    *NewIncoming
}

// Filter selects messages for List. Zero fields match everything.
type Filter struct {
	Direction Direction
	States    []State
	Mailbox   string
	AfterID   int64
	Limit     int // default 100
}

// Change is one engine transition. To equal to the current state with a
// new Next is a deferral (retry later).
type Change struct {
	ID        int64
	Owner     string
	Token     int64
	To        State
	Now       time.Time
	Next      time.Time // next attempt; zero means not scheduled
	KeepLease bool      // keep working on the message after this step

	OSCIMessageID string // required when To is StateIDAssigned
	ErrCode       string // recorded as the last error when set
	ErrText       string
	ClearError    bool
	Card          *ProcessCard  // stored when set (merged into an existing card)
	Intake        *IntakeRecord // required when To is StateDelivered
	Detail        map[string]string
}

// Op is an operator verb.
type Op string

const (
	OpHold    Op = "hold"
	OpRelease Op = "release"
	OpRequeue Op = "requeue"
	OpDelete  Op = "delete"
)

// OperatorAction is one operator command.
type OperatorAction struct {
	ID     int64
	Op     Op
	Actor  string
	Reason string
	Now    time.Time
}

// ErrBusy is returned for an operator action on a message an engine holds a
// live lease on, where interrupting it could duplicate or lose work.
var ErrBusy = errors.New("mailbox: message is being worked on")

// ClaimableStates lists the states ClaimDue picks up for a direction.
func ClaimableStates(d Direction) []State {
	if d == Out {
		return []State{StateQueued, StateIDAssigned, StateSending, StateSent}
	}
	return []State{StateReceived, StateIntakePending}
}

var engineRules = map[Direction]map[State][]State{
	Out: {
		StateQueued:     {StateQueued, StateIDAssigned, StateFailed},
		StateIDAssigned: {StateIDAssigned, StateSending, StateFailed},
		StateSending:    {StateSending, StateSent, StateConfirmed, StateFailed},
		StateSent:       {StateSent, StateConfirmed},
	},
	In: {
		StateReceived:      {StateIntakePending, StateQuarantined},
		StateIntakePending: {StateIntakePending, StateDelivered},
	},
}

// CheckEngineTransition reports whether an engine may move a message of
// direction d from one state to another.
func CheckEngineTransition(id int64, d Direction, from, to State) error {
	for _, s := range engineRules[d][from] {
		if s == to {
			return nil
		}
	}
	return &TransitionError{ID: id, From: from, To: to, Op: "engine"}
}

// OperatorResult is what an operator action does to a row.
type OperatorResult struct {
	To           State
	HeldFrom     State
	Next         time.Time // zero: unscheduled
	ClearID      bool      // forget the MessageId (a fresh one will be fetched)
	ResetAttempt bool
	Finalize     bool
}

// OperatorTarget applies the operator rules to m at time now. A live lease
// makes every action but hold of a message that has not been sent ErrBusy.
func OperatorTarget(m Message, op Op, now time.Time) (OperatorResult, error) {
	leased := m.LeaseOwner != "" && m.LeaseUntil.After(now)
	refuse := func() (OperatorResult, error) {
		return OperatorResult{}, &TransitionError{ID: m.ID, From: m.State, Op: string(op)}
	}
	switch op {
	case OpHold:
		switch m.State {
		case StateQueued, StateIDAssigned, StateFailed, StateIntakePending, StateReceived:
			return OperatorResult{To: StateHeld, HeldFrom: m.State}, nil
		}
		return refuse()
	case OpRelease:
		if m.State != StateHeld || m.HeldFrom == "" {
			return refuse()
		}
		r := OperatorResult{To: m.HeldFrom, Next: now}
		if m.HeldFrom == StateFailed {
			r.Next = time.Time{}
		}
		return r, nil
	case OpRequeue:
		if leased {
			return OperatorResult{}, ErrBusy
		}
		switch m.State {
		case StateFailed:
			return OperatorResult{To: StateQueued, Next: now, ClearID: true, ResetAttempt: true}, nil
		case StateQueued, StateIDAssigned, StateSending, StateSent, StateIntakePending:
			return OperatorResult{To: m.State, Next: now}, nil
		case StateQuarantined:
			return OperatorResult{To: StateIntakePending, Next: now, ResetAttempt: true}, nil
		case StateHeld:
			if m.HeldFrom == StateFailed {
				return OperatorResult{To: StateQueued, Next: now, ClearID: true, ResetAttempt: true}, nil
			}
			return OperatorResult{To: m.HeldFrom, Next: now}, nil
		}
		return refuse()
	case OpDelete:
		if leased {
			return OperatorResult{}, ErrBusy
		}
		switch m.State {
		case StateQueued, StateIDAssigned, StateHeld, StateFailed, StateQuarantined:
			return OperatorResult{To: StateDeleted, Finalize: true}, nil
		}
		return refuse()
	}
	return refuse()
}

// IsFinal reports whether a state never changes without an operator.
func IsFinal(s State) bool {
	switch s {
	case StateConfirmed, StateFailed, StateDelivered, StateQuarantined, StateDeleted:
		return true
	}
	return false
}
