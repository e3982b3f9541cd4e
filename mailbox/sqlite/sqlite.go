// Package sqlite is the embedded mailbox.Store: one SQLite file driven by
// modernc.org/sqlite (pure Go, no cgo).
//
// Durability: the database runs in WAL mode with synchronous=FULL, so a
// transaction is on disk when Commit returns (WAL with NORMAL may lose
// committed transactions on power loss). Foreign keys are enforced.
//
// One writer: all writes of a process go through a database/sql pool
// limited to a single connection, and every write transaction starts with
// BEGIN IMMEDIATE (the _txlock=immediate DSN option), so it takes SQLite's
// write lock before reading anything it later changes. Claims therefore
// never hand the same row to two claimers, also across processes (the
// operator CLI beside the daemon): the second writer waits up to the busy
// timeout. Reads use a separate read-only pool and see the last committed
// state without blocking the writer.
//
// The journal head is anchored in HeadPath (gateway.db.journal-head),
// written atomically after every commit that appended entries, under an
// flock on gateway.db.journal-head.lock so that the daemon and the
// operator CLI never move it backwards; Open anchors the head left behind
// by a process that stopped in between, and writes the file on first use
// only (journal_anchor records it). Run the CLI as the daemon's user: the
// files are created 0600.
//
// A full disk surfaces as mailbox.ErrDiskFull (retry when space returns);
// an I/O error such as a failed fsync as ErrIO (exit and restart). Neither
// is ever reported as a commit.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/sqlitedb"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/internal/sqlstore"
)

// FileName is the database file inside a gateway data directory.
const FileName = "gateway.db"

// ErrSchemaTooNew is returned when the database was migrated by a newer
// gateway than this one.
var ErrSchemaTooNew = errors.New("sqlite: database schema is newer than this program")

// ErrIO marks an I/O error of the database (SQLITE_IOERR), e.g. a failed
// fsync. After a failed fsync the kernel may have dropped the dirty pages,
// so the process should exit and let recovery on restart rebuild from the
// WAL rather than retry in place.
var ErrIO = sqlitedb.ErrIO

// ErrNoDatabase is returned by Open with MustExist when the file is missing.
var ErrNoDatabase = sqlitedb.ErrNoDatabase

// Options tune Open. The zero value is safe.
type Options struct {
	MustExist   bool          // fail instead of creating a new database
	BusyTimeout time.Duration // how long a writer waits for another process; default 10s
	Readers     int           // read connections; default 4
	// Now stamps changes whose caller left the time zero; default time.Now.
	Now func() time.Time
}

// HeadSuffix names the journal head file beside the database: for
// gateway.db it is gateway.db.journal-head, locked through
// gateway.db.journal-head.lock.
const HeadSuffix = ".journal-head"

// Store implements mailbox.Store on SQLite. Its operations are those of
// the shared SQL store (mailbox/internal/sqlstore) and the few below.
type Store struct {
	*core
	d    *sqlitedb.DB
	w    *sql.DB
	r    *sql.DB
	path string
}

// core is the shared store; the alias keeps the embedded field unexported.
type core = sqlstore.Store

// dialect is SQLite's SQL: one writer holds the whole database for a
// transaction, so no statement locks rows.
var dialect = sqlstore.Dialect{
	Name:        "sqlite",
	Greatest:    "MAX",
	Text:        "?",
	Bigint:      "?",
	AnchorCount: `SELECT COUNT(*) FROM journal_anchor`,
	AnchorUpsert: `INSERT INTO journal_anchor (id, seq, hash, at, reason) VALUES (1, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, at = excluded.at, reason = excluded.reason`,
	MapErr:   sqlitedb.MapErr,
	IsUnique: sqlitedb.IsUnique,
}

var _ mailbox.Store = (*Store)(nil)

// Open opens (and, unless MustExist, creates) the database at path and
// applies pending migrations.
func Open(ctx context.Context, path string, opt Options) (*Store, error) {
	if opt.BusyTimeout <= 0 {
		opt.BusyTimeout = 10 * time.Second
	}
	if opt.Readers <= 0 {
		opt.Readers = 4
	}
	d, err := sqlitedb.Open(ctx, path, sqlitedb.Options{MustExist: opt.MustExist, BusyTimeout: opt.BusyTimeout})
	if err != nil {
		return nil, err
	}
	w, abs := d.W, d.Path
	s := &Store{d: d, w: w, path: abs}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	// Readers open after the migrations, on the migrated schema.
	if err := d.OpenReaders(opt.Readers); err != nil {
		w.Close()
		return nil, err
	}
	s.r = d.R
	s.core, err = sqlstore.New(ctx, sqlstore.Config{
		Dialect: dialect,
		Reader:  querier{s.r},
		WriteTx: func(ctx context.Context, fn func(tx sqlstore.Querier) error) error {
			return d.WriteTx(ctx, func(tx *sql.Tx) error { return fn(querier{tx}) })
		},
		Now:      opt.Now,
		HeadPath: abs + HeadSuffix,
	})
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Path returns the database file.
func (s *Store) Path() string { return s.path }

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// migrate applies the pending migrations in one transaction on the writer
// connection, with foreign keys off (the pragma has no effect inside a
// transaction, so it is set before) and checked before the commit.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return mapErr(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return mapErr(err)
	}
	err = s.migrateTx(ctx, conn)
	if _, ferr := conn.ExecContext(ctx, `PRAGMA foreign_keys = ON`); ferr != nil && err == nil {
		err = mapErr(ferr)
	}
	return err
}

func (s *Store) migrateTx(ctx context.Context, conn *sql.Conn) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return mapErr(err)
	}
	var have int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return mapErr(err)
	}
	if have > len(migrations) {
		return fmt.Errorf("%w: version %d, this program knows %d", ErrSchemaTooNew, have, len(migrations))
	}
	if have == len(migrations) {
		return nil
	}
	for v := have + 1; v <= len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
			return fmt.Errorf("sqlite: migration %d: %w", v, mapErr(err))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, time.Now().UnixNano()); err != nil {
			return mapErr(err)
		}
	}
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return mapErr(err)
	}
	bad := rows.Next()
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return mapErr(err)
	}
	if bad {
		return fmt.Errorf("sqlite: migration to version %d breaks a foreign key", len(migrations))
	}
	return mapErr(tx.Commit())
}

// SchemaVersion returns the applied migration version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, mapErr(err)
}

// ReleaseLeases frees every lease, live or not, raising each lease token so
// that a worker still holding one is fenced off, and journals each as
// "lease_released". It is for the start of the one process that owns the
// data directory (the daemon holds an exclusive lock on it): every lease
// in the file then belongs to a process that is gone. It is not part of
// mailbox.Store because a shared store (several replicas) must never do it.
func (s *Store) ReleaseLeases(ctx context.Context, now time.Time) ([]mailbox.Message, error) {
	return sqlstore.ReleaseLeases(ctx, s.core, now)
}

// querier runs the shared store's statements on a pool or a transaction.
type querier struct {
	q interface {
		QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
		QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
		ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	}
}

func (c querier) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	rows, err := c.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (c querier) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return c.q.QueryRowContext(ctx, q, args...)
}

func (c querier) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := c.q.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

var mapErr = sqlitedb.MapErr
