package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Errors of Open besides those of the database.
var (
	// ErrSchemaTooNew: the database was migrated by a newer gateway; this
	// one refuses to start rather than write rows it does not understand.
	ErrSchemaTooNew = errors.New("postgres: database schema is newer than this program")
	// ErrSchemaBehind: migrations are pending; run `bebpo-gateway migrate`.
	ErrSchemaBehind = errors.New("postgres: database schema is behind this program (run bebpo-gateway migrate)")
	// ErrUnavailable marks a failure to reach the server or a connection
	// lost mid-transaction: temporary, and nothing of the transaction was
	// reported committed.
	ErrUnavailable = errors.New("postgres: database unavailable")
)

// Options tune Open.
type Options struct {
	// HeadPath is the file this gateway keeps the journal head in
	// (required); see the package doc.
	HeadPath string
	// Node names this gateway in journal_anchor; default the host name
	// and HeadPath, so that two nodes never share a row.
	Node string
	// MaxConns bounds the connection pool; default 8.
	MaxConns int32
	// Migrate applies pending migrations at Open (tests, single-node
	// installs); without it pending migrations are ErrSchemaBehind.
	Migrate bool
	// Now stamps changes whose caller left the time zero; default time.Now.
	Now func() time.Time
}

// Store implements mailbox.Store on PostgreSQL.
type Store struct {
	pool     *pgxpool.Pool
	r        conn
	now      func() time.Time
	headPath string
	node     string

	anchorMu  sync.Mutex
	anchorErr error
	anchored  atomic.Int64

	dialogs dialogLocks
}

var _ mailbox.Store = (*Store)(nil)

// Open connects to the database named by dsn (a libpq connection string
// or URL), checks the schema version (see Options.Migrate) and anchors
// the journal head.
func Open(ctx context.Context, dsn string, opt Options) (*Store, error) {
	if opt.HeadPath == "" {
		return nil, fmt.Errorf("%w: postgres store needs a journal head file", mailbox.ErrInvalidInput)
	}
	if opt.MaxConns <= 0 {
		opt.MaxConns = 8
	}
	if opt.Node == "" {
		host, _ := os.Hostname()
		opt.Node = host + ":" + opt.HeadPath
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The DSN may hold a password: never repeat it.
		return nil, fmt.Errorf("%w: postgres: malformed connection string", mailbox.ErrInvalidInput)
	}
	cfg.MaxConns = opt.MaxConns
	if opt.Migrate {
		if err := Migrate(ctx, dsn); err != nil {
			return nil, err
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, mapErr(err)
	}
	s := &Store{pool: pool, r: conn{pool}, now: opt.Now, headPath: opt.HeadPath, node: opt.Node}
	if s.now == nil {
		s.now = time.Now
	}
	if err := checkVersion(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	if err := s.openAnchor(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pool.
func (s *Store) Close() error {
	s.closeDialogs()
	s.pool.Close()
	return nil
}

// HeadPath returns the file this gateway anchors the journal head in.
func (s *Store) HeadPath() string { return s.headPath }

// maxRetries bounds the reruns of a transaction PostgreSQL aborted to
// break a deadlock or a serialization conflict between gateways.
const maxRetries = 5

// write runs fn in a transaction and commits, rerunning it when the
// server aborted it for a deadlock or serialization conflict (nothing of
// it was committed then). After a commit that appended journal entries the
// head file is moved forward; a failed head write does not undo the
// commit (see AnchorErr).
func (s *Store) write(ctx context.Context, fn func(tx conn) error) error {
	var h mailbox.JournalHead
	err := s.writeTx(ctx, func(tx conn) error {
		if err := fn(tx); err != nil {
			return err
		}
		var err error
		h, err = head(ctx, tx)
		return err
	})
	if err == nil && h.Seq > s.anchored.Load() {
		_ = s.anchor(context.WithoutCancel(ctx), h)
	}
	return err
}

// writeTx is write without the head write.
func (s *Store) writeTx(ctx context.Context, fn func(tx conn) error) error {
	for try := 1; ; try++ {
		err := s.tryTx(ctx, fn)
		if try < maxRetries && retryable(err) {
			continue
		}
		return mapErr(err)
	}
}

func (s *Store) tryTx(ctx context.Context, fn func(tx conn) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(conn{tx}); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return tx.Commit(ctx)
}

// PostgreSQL error codes the store tells apart.
const (
	codeUnique        = "23505"
	codeSerialization = "40001"
	codeDeadlock      = "40P01"
	classDiskFull     = "53" // insufficient resources: disk_full 53100, out_of_memory, too_many_connections
	codeDiskFull      = "53100"
)

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func isUnique(err error) bool { return pgCode(err) == codeUnique }

func retryable(err error) bool {
	c := pgCode(err)
	return c == codeSerialization || c == codeDeadlock
}

// mapErr turns a full disk into mailbox.ErrDiskFull and a lost or
// refused connection into ErrUnavailable.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	code := pgCode(err)
	switch {
	case code == codeDiskFull:
		return fmt.Errorf("%w: %w", mailbox.ErrDiskFull, err)
	case strings.HasPrefix(code, classDiskFull), strings.HasPrefix(code, "08"), code == "57P01":
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	case code == "" && pgconn.SafeToRetry(err):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// stamp returns t, or the store's clock when t is zero.
func (s *Store) stamp(t time.Time) time.Time {
	if t.IsZero() {
		return s.now().UTC()
	}
	return t
}

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

// querier is what a pool and a transaction share.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// conn runs the store's statements, which are written with ? placeholders
// like the SQLite store's so that the two read alike; bind numbers them
// for PostgreSQL.
type conn struct{ q querier }

func (c conn) Query(ctx context.Context, q string, args ...any) (pgx.Rows, error) {
	return c.q.Query(ctx, bind(q), args...)
}

func (c conn) QueryRow(ctx context.Context, q string, args ...any) pgx.Row {
	return c.q.QueryRow(ctx, bind(q), args...)
}

func (c conn) Exec(ctx context.Context, q string, args ...any) (pgconn.CommandTag, error) {
	return c.q.Exec(ctx, bind(q), args...)
}

var bound sync.Map // statement → numbered statement

// bind replaces each ? outside quoted literals with $1, $2, ...
func bind(q string) string {
	if v, ok := bound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n, quoted := 0, false
	for _, r := range q {
		switch {
		case r == '\'':
			quoted = !quoted
		case r == '?' && !quoted:
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	bound.Store(q, b.String())
	return b.String()
}
