package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/internal/sqlstore"
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

// Store implements mailbox.Store on PostgreSQL. Its operations are those
// of the shared SQL store (mailbox/internal/sqlstore) and the few below.
type Store struct {
	*core
	pool *pgxpool.Pool

	dialogs dialogLocks
}

// core is the shared store; the alias keeps the embedded field unexported.
type core = sqlstore.Store

// dialect is PostgreSQL's SQL: gateways share the database, so a change
// locks the rows it reads and a claim passes over rows others hold.
var dialect = sqlstore.Dialect{
	Name:        "postgres",
	ForUpdate:   " FOR UPDATE",
	SkipLocked:  " FOR UPDATE SKIP LOCKED",
	Greatest:    "GREATEST",
	Text:        "?::text",
	Bigint:      "?::bigint",
	AnchorCount: `SELECT COUNT(*) FROM journal_anchor WHERE node = ?`,
	AnchorUpsert: `INSERT INTO journal_anchor (node, seq, hash, at, reason) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (node) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, at = excluded.at, reason = excluded.reason`,
	MapErr:   mapErr,
	IsUnique: isUnique,
	// Two gateways inserting under one unique key (a MessageId, an
	// idempotency key) take turns on a transaction-scoped advisory lock,
	// and the second finds the first's row instead of failing on the
	// unique index.
	Serialize: func(ctx context.Context, tx sqlstore.Querier, key string) error {
		_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, key)
		return err
	},
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
	s := &Store{pool: pool}
	if err := checkVersion(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	s.core, err = sqlstore.New(ctx, sqlstore.Config{
		Dialect:   dialect,
		Reader:    conn{pool},
		WriteTx:   s.writeTx,
		Now:       opt.Now,
		HeadPath:  opt.HeadPath,
		AnchorKey: []any{opt.Node},
	})
	if err != nil {
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

// maxRetries bounds the reruns of a transaction PostgreSQL aborted to
// break a deadlock or a serialization conflict between gateways.
const maxRetries = 5

// writeTx runs fn in a transaction and commits, rerunning it when the
// server aborted it for a deadlock or serialization conflict (nothing of
// it was committed then).
func (s *Store) writeTx(ctx context.Context, fn func(tx sqlstore.Querier) error) error {
	for try := 1; ; try++ {
		err := s.tryTx(ctx, fn)
		if try < maxRetries && retryable(err) {
			continue
		}
		return mapErr(err)
	}
}

func (s *Store) tryTx(ctx context.Context, fn func(tx sqlstore.Querier) error) error {
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

// querier is what a pool and a transaction share.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// conn runs the shared store's statements, which are written with ?
// placeholders; bind numbers them for PostgreSQL.
type conn struct{ q querier }

func (c conn) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	rows, err := c.q.Query(ctx, bind(q), args...)
	if err != nil {
		return nil, err
	}
	return pgRows{rows}, nil
}

func (c conn) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return pgRow{c.q.QueryRow(ctx, bind(q), args...)}
}

func (c conn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := c.q.Exec(ctx, bind(q), args...)
	return tag.RowsAffected(), err
}

// pgRows reports the iteration's error at Close, as database/sql does.
type pgRows struct{ pgx.Rows }

func (r pgRows) Close() error {
	r.Rows.Close()
	return r.Rows.Err()
}

// pgRow reports "no rows" as sql.ErrNoRows, which the shared store tests
// for, keeping pgx's error and its text.
type pgRow struct{ pgx.Row }

func (r pgRow) Scan(dest ...any) error {
	err := r.Row.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return noRows{err}
	}
	return err
}

type noRows struct{ error }

func (e noRows) Unwrap() error        { return e.error }
func (e noRows) Is(target error) bool { return target == sql.ErrNoRows }

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
