package register

import (
	"context"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Store is the register's system of record. Every method that changes
// state commits durably before it returns nil and appends its journal
// entries (Entry) in the same transaction; the journal is hash-chained
// with the mailbox journal's encoding (mailbox.Seal), its MessageID field
// holding the procedure id. The SQLite store is in register/sqlite; a
// PostgreSQL one implements the same interface and runs the same tests.
type Store interface {
	CreateProcedure(ctx context.Context, p Procedure, e Entry) (Procedure, error)
	// Procedure finds a procedure by its number (ErrNotFound).
	Procedure(ctx context.Context, number string) (Procedure, error)
	ProcedureByID(ctx context.Context, id int64) (Procedure, error)
	Procedures(ctx context.Context) ([]Procedure, error)

	// SetBidder stores the bidder intended for the award with its members
	// (ErrExists when the procedure has one).
	SetBidder(ctx context.Context, b Bidder, e Entry) (Bidder, error)
	// Bidder returns the procedure's bidder (ErrNotFound).
	Bidder(ctx context.Context, procedureID int64) (Bidder, error)

	// CreateQuery stores a query and journals it with its id (detail
	// "query"); with sheet, the query sheet it makes of the stored query
	// is kept and queued for the intake in the same transaction.
	CreateQuery(ctx context.Context, q Query, sheet func(Query) StoredFile, e Entry) (Query, error)
	Query(ctx context.Context, id int64) (Query, error)
	Queries(ctx context.Context, procedureID int64) ([]Query, error)
	// ClaimQueries leases interface queries due at now (to_send or
	// pending), raising Attempts and LeaseToken.
	ClaimQueries(ctx context.Context, now time.Time, owner string, lease time.Duration, limit int) ([]Query, error)
	// UpdateQuery stores State, Ref, NextAttemptAt and LastError of a
	// claimed query and frees its lease; ErrLeaseLost when the token no
	// longer matches.
	UpdateQuery(ctx context.Context, q Query, e *Entry) error

	// AddAnswer stores an answer with its document, marks its query
	// answered (fenced by leaseToken when it is not 0), records the
	// reliance and queues the filing, in one transaction; the journal
	// entry gets the answer's id (detail "answer").
	AddAnswer(ctx context.Context, a Answer, content []byte, leaseToken int64, rel Reliance, f Filing, e Entry) (Answer, error)
	Answer(ctx context.Context, id int64) (Answer, error)
	// AnswerContent returns the document (ErrAnswerDeleted after deletion).
	AnswerContent(ctx context.Context, id int64) ([]byte, error)
	// AnswersAbout returns the undeleted answers received at or after
	// since about a company with the register key or VAT key given.
	AnswersAbout(ctx context.Context, registerKey, vatKey string, since time.Time) ([]Answer, error)
	// Rely records a reused answer for a member and queues its filing.
	Rely(ctx context.Context, rel Reliance, f Filing, e Entry) error
	Reliances(ctx context.Context, procedureID int64) ([]Reliance, error)

	AddAssessment(ctx context.Context, a Assessment, e Entry) (Assessment, error)
	Assessments(ctx context.Context, procedureID int64) ([]Assessment, error)

	// ClaimFilings leases intake hand-overs due at now.
	ClaimFilings(ctx context.Context, now time.Time, owner string, lease time.Duration, limit int) ([]Filing, error)
	// FinishFiling records a completed hand-over (rec set) or schedules
	// the next try (rec nil); fenced by the lease token.
	FinishFiling(ctx context.Context, f Filing, rec *mailbox.IntakeRecord, e *Entry) error
	Filings(ctx context.Context, procedureID int64) ([]Filing, error)
	// File returns a stored document (a query sheet or form).
	File(ctx context.Context, id int64) (StoredFile, error)

	// Expired returns the undeleted answers received before cutoff.
	Expired(ctx context.Context, cutoff time.Time) ([]Answer, error)
	// DeleteAnswer overwrites and removes an answer's document and
	// journals the deletion; the row with its hash stays.
	DeleteAnswer(ctx context.Context, id int64, at time.Time, e Entry) error

	AddRegistration(ctx context.Context, r Registration, e Entry) (Registration, error)
	UpdateRegistration(ctx context.Context, r Registration, e *Entry) error
	Registrations(ctx context.Context) ([]Registration, error)

	// Append adds a journal entry that belongs to no state change.
	Append(ctx context.Context, e Entry) error
	// Events returns journal entries with Seq > after (the query log).
	Events(ctx context.Context, after int64, limit int) ([]mailbox.Event, error)
	// AnchoredHead is the journal head kept outside the database.
	AnchoredHead(ctx context.Context) (mailbox.JournalHead, error)
	Close() error
}

// Entry is one journal entry of the register. Detail never holds an
// answer's content, and nothing about offences.
type Entry struct {
	At          time.Time
	ProcedureID int64
	Kind        string
	Actor       string
	Detail      map[string]string
}

// Input is the entry as the mailbox journal encoding seals it.
func (e Entry) Input() mailbox.EventInput {
	d := map[string]string{}
	for k, v := range e.Detail {
		d[k] = v
	}
	if e.Actor != "" {
		d["actor"] = e.Actor
	}
	return mailbox.EventInput{At: e.At, MessageID: e.ProcedureID, Kind: e.Kind, Detail: d}
}

// FilingKind is what a filing hands to the intake.
type FilingKind string

const (
	FilingAnswer FilingKind = "answer" // an answer, for one procedure
	FilingSheet  FilingKind = "sheet"  // a query sheet
)

// Filing is one hand-over to the eAkte intake, queued in the transaction
// that made its document and done by the Filer until the sink confirms it.
type Filing struct {
	ID          int64      `json:"id"`
	ProcedureID int64      `json:"procedureId"`
	Kind        FilingKind `json:"kind"`
	AnswerID    int64      `json:"answerId,omitempty"`
	FileID      int64      `json:"fileId,omitempty"` // the sheet
	QueryID     int64      `json:"queryId,omitempty"`
	// MessageID is the intake's idempotency key (IntakeMetadata.MessageID).
	MessageID     string    `json:"messageId"`
	State         string    `json:"state"` // pending, filed
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"nextAttemptAt,omitzero"`
	LastError     string    `json:"lastError,omitempty"`
	Location      string    `json:"location,omitempty"`
	FiledAt       time.Time `json:"filedAt,omitzero"`
	LeaseToken    int64     `json:"-"`
}

// StoredFile is a document the register keeps (query sheet, form).
type StoredFile struct {
	ID          int64
	Name        string
	ContentType string
	Data        []byte
	SHA256      string
}

// Registration is the beBPo registration form (§2 WRegV) or a change of
// the user administrators, sent to the Bundeskartellamt through the
// normal sending path; ProcessCard keeps the Laufzettel as proof.
type Registration struct {
	ID          int64                `json:"id"`
	Kind        string               `json:"kind"` // registration, admin_change
	MessageID   int64                `json:"messageId"`
	SubmittedAt time.Time            `json:"submittedAt"`
	SubmittedBy string               `json:"submittedBy"`
	SHA256      string               `json:"sha256"`
	ProcessCard *mailbox.ProcessCard `json:"processCard,omitempty"`
}
