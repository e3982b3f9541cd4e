package sqlstore

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Querier runs statements written with ? placeholders on a connection
// pool or inside a transaction. A driver whose placeholders differ
// rewrites them; a driver whose "no rows" error is not sql.ErrNoRows
// returns one for which errors.Is(err, sql.ErrNoRows) holds.
type Querier interface {
	Query(ctx context.Context, q string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, q string, args ...any) Row
	// Exec returns the number of rows the statement changed.
	Exec(ctx context.Context, q string, args ...any) (int64, error)
}

// Rows is a result set; Close reports an error of the iteration too.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// Row is the result of QueryRow.
type Row interface {
	Scan(dest ...any) error
}

// Dialect holds what differs between the SQL of two databases, and how a
// driver's errors are told apart.
type Dialect struct {
	// Name prefixes the store's own errors ("sqlite", "postgres").
	Name string
	// ForUpdate ends a SELECT of rows a transaction goes on to change: ""
	// where a write transaction holds the whole database, " FOR UPDATE"
	// where row locks order concurrent writers.
	ForUpdate string
	// SkipLocked ends a SELECT of rows to claim: other writers' rows are
	// passed over rather than waited for.
	SkipLocked string
	// Greatest names the function of the larger of two values.
	Greatest string
	// Text and Bigint are a parameter typed as text and as a 64-bit
	// integer where the statement alone does not tell its type.
	Text, Bigint string
	// AnchorCount counts the journal_anchor rows of this gateway, and
	// AnchorUpsert records its anchor; both take Config.AnchorKey first,
	// AnchorUpsert then seq, hash, at and reason.
	AnchorCount, AnchorUpsert string
	// MapErr classifies a failure of a read (full disk, lost server).
	MapErr func(error) error
	// IsUnique reports the violation of a unique index.
	IsUnique func(error) bool
	// Serialize, when set, makes two transactions inserting under one
	// unique key take turns, so that the second finds the first's row.
	Serialize func(ctx context.Context, tx Querier, key string) error
}

// Config is what a store hands over to New.
type Config struct {
	Dialect Dialect
	// Reader runs reads outside write transactions.
	Reader Querier
	// WriteTx runs fn in a write transaction and commits; its error is
	// classified (Dialect.MapErr) and nothing is committed when it is not
	// nil.
	WriteTx func(ctx context.Context, fn func(tx Querier) error) error
	// Now stamps changes whose caller left the time zero.
	Now func() time.Time
	// HeadPath is the journal head file, AnchorKey the arguments naming
	// this gateway's journal_anchor row.
	HeadPath  string
	AnchorKey []any
}

// Store is the mailbox.Store logic both SQL stores share; a store embeds
// it and adds what only it has (opening, closing, its own operations).
type Store struct {
	d        Dialect
	r        Querier
	writeTx  func(ctx context.Context, fn func(tx Querier) error) error
	now      func() time.Time
	headPath string
	key      []any

	anchorMu  sync.Mutex   // one head write at a time in this process (the lock file orders processes)
	anchorErr error        // outcome of the last head write
	anchored  atomic.Int64 // highest head known anchored: commits at or below it need no head write
}

// New returns the shared store on an opened and migrated database, after
// anchoring the journal head (see openAnchor).
func New(ctx context.Context, c Config) (*Store, error) {
	s := &Store{d: c.Dialect, r: c.Reader, writeTx: c.WriteTx, now: c.Now, headPath: c.HeadPath, key: c.AnchorKey}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.openAnchor(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// HeadPath returns the file this gateway keeps the journal head in.
func (s *Store) HeadPath() string { return s.headPath }

// write runs fn in a write transaction and commits. A failed commit is
// returned; nothing is reported durable unless it committed. After a
// commit that appended journal entries the head file is moved forward
// (anchor); a failed head write does not undo the commit (see AnchorErr).
func (s *Store) write(ctx context.Context, fn func(tx Querier) error) error {
	var h mailbox.JournalHead
	err := s.writeTx(ctx, func(tx Querier) error {
		if err := fn(tx); err != nil {
			return err
		}
		var err error
		h, err = Head(ctx, tx)
		return err
	})
	if err == nil && h.Seq > s.anchored.Load() {
		_ = s.anchor(context.WithoutCancel(ctx), h)
	}
	return err
}

func (s *Store) mapErr(err error) error { return s.d.MapErr(err) }

// stamp returns t, or the store's clock when t is zero.
func (s *Store) stamp(t time.Time) time.Time {
	if t.IsZero() {
		return s.now().UTC()
	}
	return t
}

// ns and tm convert between times and the Unix nanoseconds the tables
// hold, zero for the zero time.
func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func tm(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
