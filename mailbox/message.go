package mailbox

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Direction says whether a message leaves the authority (out) or arrives (in).
type Direction string

const (
	Out Direction = "out"
	In  Direction = "in"
)

// State is where a message stands in its life. The values are stored as
// text in the database and must never be renamed.
type State string

const (
	// Outgoing.
	StateQueued     State = "queued"      // accepted and durable, no MessageId yet
	StateIDAssigned State = "id_assigned" // MessageId from getMessageId stored; storeDelivery not yet sent
	StateSending    State = "sending"     // storeDelivery may have reached the intermediary (outcome unknown)
	StateSent       State = "sent"        // the intermediary accepted it (Laufzettel: Creation)
	StateConfirmed  State = "confirmed"   // the recipient fetched it (Laufzettel: Reception)
	StateFailed     State = "failed"      // parked after a permanent error or an exhausted lifetime

	// Incoming.
	StateReceived      State = "received"       // fetched and durable, not yet classified
	StateQuarantined   State = "quarantined"    // held for a person, LastErrorCode says why (verification_failed, unreadable)
	StateIntakePending State = "intake_pending" // verified, waiting for the eAkte intake
	StateDelivered     State = "delivered"      // handed to the eAkte intake, which confirmed it

	// Both directions.
	StateHeld    State = "held"    // stopped by an operator; HeldFrom says where it returns
	StateDeleted State = "deleted" // removed by an operator; the row stays as a tombstone
)

// Message is one row of the message table.
type Message struct {
	ID             int64
	Direction      Direction
	Mailbox        string // our mailbox (SAFE-ID or configured name)
	State          State
	HeldFrom       State // set while State is StateHeld
	Attempts       int   // claims so far, counting ones cut short by a crash
	NextAttemptAt  time.Time
	LeaseOwner     string
	LeaseUntil     time.Time
	LeaseToken     int64  // fencing counter, raised by every claim and operator action
	OSCIMessageID  string // empty until assigned (out) or always set (in)
	ContentSHA256  string // hex; outgoing: ContentDigest; incoming: IncomingDigest
	Size           int64
	Subject        string
	Sender         string
	Recipient      string
	LastErrorCode  string
	LastErrorText  string
	Meta           []byte // JSON: IncomingMeta (incoming) or the submitter's metadata (outgoing)
	IdempotencyKey string // the submitter's key (outgoing), empty if none
	SameContentAs  string // incoming: MessageId of an earlier incoming message with the same documents (delivered all the same, flagged)
	CreatedAt      time.Time
	UpdatedAt      time.Time
	FinalizedAt    time.Time // zero while the message can still change by itself
	Documents      []Document
}

// Document is one blob belonging to a message.
type Document struct {
	Role        Role
	Name        string // the name the sender gave (unsanitised)
	ContentType string
	SHA256      string // hex; the blob key
	Size        int64
	// PurgedAt is when retention removed the content (Store.Purge); the
	// row, its name, hash and size stay as evidence. Zero while kept.
	PurgedAt time.Time
}

// Role says what a document is to its message.
type Role string

const (
	RoleOriginal   Role = "original"   // the received OSCI message as evidence
	RoleDocument   Role = "document"   // a content document or attachment
	RoleStructured Role = "structured" // xjustiz_nachricht.xml and similar
)

// ProcessCard is the OSCI Laufzettel of one message as the intermediary reports it.
type ProcessCard struct {
	OSCIMessageID      string
	Creation           time.Time // the intermediary received the order
	Forwarding         time.Time // the intermediary built the message carrying the delivery
	Reception          time.Time // the recipient acknowledged (next order in its dialog)
	RecentModification time.Time
	Subject            string
	Inspections        []Inspection
}

// Inspection is one certificate check the intermediary recorded on a Laufzettel.
type Inspection struct {
	Time          time.Time `json:"time"`
	Subject       string    `json:"subject"`
	Issuer        string    `json:"issuer"`
	Serial        string    `json:"serial"`
	CertType      string    `json:"certType"`      // advanced|qualified|accredited|unknown
	MathResult    string    `json:"mathResult"`    // ok|corrupted|indeterminate
	OfflineResult string    `json:"offlineResult"` // valid|invalid|indeterminate
	OnlineResult  string    `json:"onlineResult,omitempty"`
}

// IntakeRecord says where and when an incoming message was handed over.
type IntakeRecord struct {
	Sink           string // "folder", "http"
	Location       string // directory name or the endpoint's reference
	ManifestSHA256 string
	DeliveredAt    time.Time
	// Route is the routing rule that chose the sink; the engine journals
	// it with the delivery ("" when nothing routed the message).
	Route string
}

// Sentinel errors of the store and the engines.
var (
	ErrNotFound          = errors.New("mailbox: not found")
	ErrInvalidTransition = errors.New("mailbox: invalid state transition")
	ErrLeaseLost         = errors.New("mailbox: lease lost")
	ErrDuplicate         = errors.New("mailbox: duplicate message")
	ErrDuplicateConflict = errors.New("mailbox: same MessageId with different content")
	ErrDiskFull          = errors.New("mailbox: disk full")
	ErrTooLarge          = errors.New("mailbox: too large")
	ErrBlobMissing       = errors.New("mailbox: blob missing")
	ErrBlobCorrupt       = errors.New("mailbox: blob corrupt")
	ErrClosed            = errors.New("mailbox: closed")
	// ErrPurged is returned for the content of a document that retention
	// removed (Document.PurgedAt).
	ErrPurged = errors.New("mailbox: document content removed by retention")
)

// TransitionError names the refused change; it matches ErrInvalidTransition.
type TransitionError struct {
	ID   int64
	From State
	To   State
	Op   string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("mailbox: invalid state transition: message %d: %s from %s to %s", e.ID, e.Op, e.From, e.To)
}

func (e *TransitionError) Is(target error) bool { return target == ErrInvalidTransition }

// ErrInvalidInput is returned for a call that lacks required fields.
var ErrInvalidInput = errors.New("mailbox: invalid input")

// ContentDigest is the content hash of an outgoing message: the SHA-256 of
// one line "role name sha256 size" per document, in order.
func ContentDigest(docs []Document) string {
	h := sha256.New()
	for _, d := range docs {
		fmt.Fprintf(h, "%s %q %s %d\n", d.Role, d.Name, d.SHA256, d.Size)
	}
	return hex.EncodeToString(h.Sum(nil))
}
