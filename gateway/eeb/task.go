package eeb

import (
	"context"
	"errors"
	"time"
)

// Errors. A refusal of what a person asked (answering twice, a date
// outside the allowed days) is permanent; store failures pass through
// wrapped.
var (
	ErrNotFound     = errors.New("eeb: no such task")
	ErrAnswered     = errors.New("eeb: task already answered")
	ErrBusy         = errors.New("eeb: task is being answered")
	ErrBadAnswer    = errors.New("eeb: answer refused")
	ErrUnavailable  = errors.New("eeb: answering is not available here")
	ErrNoRecord     = errors.New("eeb: message carries no readable XJustiz record")
	ErrSchemaTooNew = errors.New("eeb: task database is newer than this program")
	ErrNoDatabase   = errors.New("eeb: no task database")
)

// State is where a task stands.
type State string

const (
	StateOpen      State = "open"      // waiting for a person
	StateAnswering State = "answering" // a person's answer is being built and queued
	StateAnswered  State = "answered"  // the 2200007 is queued for the court
)

// Task is one eEB request of a court waiting for, or carrying, a
// person's answer.
type Task struct {
	ID        int64  `json:"id"`
	MessageID int64  `json:"messageId"` // the received message (the court's request)
	Mailbox   string `json:"mailbox"`
	// Court is the GDS.Gerichte code of the court that asked ("" when its
	// record names it only by name), CourtName its name.
	Court     string `json:"court,omitempty"`
	CourtName string `json:"courtName,omitempty"`
	// CourtSafeID is the sender of the request: the answer goes there.
	CourtSafeID string `json:"courtSafeId"`
	// CourtMessageID is the request's eigeneNachrichtenID; the answer names
	// it as fremdeNachrichtenID.
	CourtMessageID string     `json:"courtMessageId"`
	CaseCourt      string     `json:"caseCourt,omitempty"` // the court's case number
	CaseOurs       string     `json:"caseOurs,omitempty"`  // our file number, as the court gave it
	Subject        string     `json:"subject,omitempty"`
	Documents      []Document `json:"documents"`
	ReceivedAt     time.Time  `json:"receivedAt"`
	CreatedAt      time.Time  `json:"createdAt"`
	State          State      `json:"state"`
	// ClaimedBy and ClaimedUntil are set while State is answering.
	ClaimedBy    string    `json:"claimedBy,omitempty"`
	ClaimedUntil time.Time `json:"claimedUntil,omitzero"`
	Answer       *Answer   `json:"answer,omitempty"`
}

// Document is one document the request names.
type Document struct {
	ID    string   `json:"id"`
	Class string   `json:"class,omitempty"`
	Title string   `json:"title,omitempty"`
	Files []string `json:"files,omitempty"`
	EEB   bool     `json:"eeb"` // this document carries ruecksendungEEB.erforderlich
}

// Decision is what a person answers: acknowledge receipt on a date, or
// reject with a reason of EEB.StoerungsID. Exactly one.
type Decision struct {
	Acknowledged time.Time `json:"acknowledged,omitzero"` // the day (Europe/Berlin)
	RejectCode   string    `json:"rejectCode,omitempty"`  // "1", "2" or "3"
	RejectReason string    `json:"rejectReason,omitempty"`
}

// Answer is a task's answer as queued for the court.
type Answer struct {
	Decision
	By string    `json:"by"` // who answered: the API token's name or the CLI user
	At time.Time `json:"at"`
	// SentMessageID is the outgoing message carrying the 2200007, and
	// RecordMessageID the record's own eigeneNachrichtenID.
	SentMessageID   int64  `json:"sentMessageId"`
	RecordMessageID string `json:"recordMessageId"`
}

// Reply is a court's eEB answer to one of our messages.
type Reply struct {
	ID        int64  `json:"id"`
	MessageID int64  `json:"messageId"` // the received message carrying the 2200007
	Mailbox   string `json:"mailbox"`
	Court     string `json:"court,omitempty"`
	// RecordMessageID is the answer's eigeneNachrichtenID, ForeignMessageID
	// the message it answers: the XJustiz id of a record we sent.
	RecordMessageID  string `json:"recordMessageId"`
	ForeignMessageID string `json:"foreignMessageId"`
	// OurMessageID is the outgoing message it answers; 0 when none of
	// ours carries that record (unmatched: flagged, kept).
	OurMessageID   int64     `json:"ourMessageId"`
	Acknowledged   time.Time `json:"acknowledged,omitzero"`
	RejectCode     string    `json:"rejectCode,omitempty"`
	RejectReason   string    `json:"rejectReason,omitempty"`
	Representative bool      `json:"representative,omitempty"`
	ReceivedAt     time.Time `json:"receivedAt"`
}

// Matched reports whether the reply answers one of our messages.
func (r Reply) Matched() bool { return r.OurMessageID != 0 }

// Request is an outgoing message of ours that carries an XJustiz record.
type Request struct {
	XJustizMessageID string
	MessageID        int64
	EEBRequested     bool
}

// Batch is what the follower learned from the journal up to Cursor; the
// store records it in one transaction.
type Batch struct {
	Cursor   int64
	Tasks    []Task
	Requests []Request
	Replies  []Reply
}

// Filter selects tasks; zero fields match all.
type Filter struct {
	States  []State
	Mailbox string
	AfterID int64
	Limit   int // default 100
}

// Store is the durable record of tasks, the journal position the follower
// reached, our records and the courts' replies. Every method that changes
// something commits durably before it returns nil.
type Store interface {
	// Cursor is the last journal entry whose consequences are recorded.
	Cursor(ctx context.Context) (int64, error)
	// Record stores what the follower learned and moves the cursor, in
	// one transaction: a task or reply already recorded for its message is
	// left as it is, so a batch read twice changes nothing.
	Record(ctx context.Context, b Batch) error

	Task(ctx context.Context, id int64) (Task, error)
	TaskForMessage(ctx context.Context, messageID int64) (Task, error)
	Tasks(ctx context.Context, f Filter) ([]Task, error)
	// Claim starts an answer: an open task, or one whose claim expired
	// (ClaimedBy is then kept: the earlier claimant may have queued an
	// answer), becomes answering until until. ErrAnswered, ErrBusy.
	Claim(ctx context.Context, id int64, actor string, now, until time.Time) (Task, error)
	// Release returns an answering task to open (the answer was not queued).
	Release(ctx context.Context, id int64) error
	// Answered records the queued answer; ErrAnswered when it has one.
	Answered(ctx context.Context, id int64, a Answer) (Task, error)

	Request(ctx context.Context, xjustizMessageID string) (Request, error)
	// ReplyTo returns the replies to our outgoing message, oldest first.
	ReplyTo(ctx context.Context, ourMessageID int64) ([]Reply, error)
	ReplyIn(ctx context.Context, messageID int64) (Reply, error)
	Unmatched(ctx context.Context) ([]Reply, error)

	Close() error
}
