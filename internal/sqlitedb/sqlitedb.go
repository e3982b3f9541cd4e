// Package sqlitedb opens the gateway's embedded SQLite databases (the
// message store, the register, the eEB tasks) one way, so that each keeps
// the same durability promise and reports a failing disk the same way.
//
// Guarantees: a database file is created private (0600; SQLite gives its
// -wal and -shm files the same mode) and opened in WAL mode with
// synchronous=FULL, so a transaction whose Commit returned nil survives a
// power cut; a file system that cannot keep WAL (no shared memory) is
// refused, never silently used in a weaker mode. All writes go through one
// connection in BEGIN IMMEDIATE transactions (WriteTx), so writers never
// deadlock on a lock upgrade; readers use a separate query-only pool.
// Failures are mapped once (MapErr): a full disk is mailbox.ErrDiskFull,
// an I/O error ErrIO (after which the process must stop: recovery at the
// next start continues from the last commit).
package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	sqlite "modernc.org/sqlite"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/durable"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

var (
	// ErrIO is an I/O error of SQLite: the database file may be damaged
	// or the disk failing; the process stops and recovers at its next start.
	ErrIO = errors.New("sqlite: i/o error")
	// ErrNoDatabase is returned by Open with MustExist when the file is missing.
	ErrNoDatabase = errors.New("sqlite: no database")
)

// Options tune Open. The zero value is safe.
type Options struct {
	MustExist   bool          // fail instead of creating a new database
	BusyTimeout time.Duration // how long a writer waits for another process; default 10s
	Readers     int           // read connections; 0 opens no reader pool (R is W)
	Pragmas     []string      // more pragmas for every connection, e.g. "secure_delete(1)"
}

// DB is an open database: W is the one writer connection, R the readers.
type DB struct {
	W, R *sql.DB
	Path string // absolute

	common []string // the pragmas of every connection
}

// Open opens (and, unless MustExist, creates) the database at path. It
// does not migrate: the caller runs its migrations on W.
func Open(ctx context.Context, path string, opt Options) (*DB, error) {
	if opt.BusyTimeout <= 0 {
		opt.BusyTimeout = 10 * time.Second
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if strings.ContainsAny(abs, "?#") {
		return nil, fmt.Errorf("sqlite: database path must not contain ? or #: %q", abs)
	}
	if _, err := os.Stat(abs); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		if opt.MustExist {
			return nil, fmt.Errorf("%w at %s", ErrNoDatabase, abs)
		}
		// The databases hold personal data: create them private.
		f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("sqlite: create %s: %w", abs, err)
		}
		if f != nil {
			f.Close()
			// The new name is durable only with its directory: without
			// this a power cut could lose the database SQLite writes into
			// it (SQLite fsyncs the directory of a new WAL, not this one).
			if err := durable.SyncDir(filepath.Dir(abs)); err != nil {
				return nil, fmt.Errorf("sqlite: create %s: %w", abs, err)
			}
		}
	}
	common := append([]string{fmt.Sprintf("busy_timeout(%d)", opt.BusyTimeout.Milliseconds()), "foreign_keys(1)", "synchronous(FULL)"}, opt.Pragmas...)
	wq := url.Values{"_pragma": append([]string{"journal_mode(WAL)"}, common...), "_txlock": {"immediate"}}
	w, err := sql.Open("sqlite", "file:"+abs+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, MapErr(err))
	}
	if mode != "wal" {
		w.Close()
		return nil, fmt.Errorf("sqlite: journal mode is %q, need wal (filesystem without shared memory?)", mode)
	}
	db := &DB{W: w, R: w, Path: abs, common: common}
	if opt.Readers > 0 {
		if err := db.OpenReaders(opt.Readers); err != nil {
			w.Close()
			return nil, err
		}
	}
	return db, nil
}

// OpenReaders opens the pool of n query-only connections (R), for a
// caller that migrates on W first.
func (d *DB) OpenReaders(n int) error {
	rq := url.Values{"_pragma": append([]string{"query_only(1)"}, d.common...)}
	r, err := sql.Open("sqlite", "file:"+d.Path+"?"+rq.Encode())
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	r.SetMaxOpenConns(n)
	d.R = r
	return nil
}

// Close closes both pools.
func (d *DB) Close() error {
	if d.R != d.W {
		return errors.Join(d.R.Close(), d.W.Close())
	}
	return d.W.Close()
}

// WriteTx runs fn in one BEGIN IMMEDIATE transaction on the writer and
// commits; nothing is durable unless it returns nil.
func (d *DB) WriteTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := d.W.BeginTx(ctx, nil)
	if err != nil {
		return MapErr(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return MapErr(err)
	}
	return MapErr(tx.Commit())
}

const (
	codeFull             = 13   // SQLITE_FULL
	codeIOErr            = 10   // SQLITE_IOERR
	codeConstraintUnique = 2067 // SQLITE_CONSTRAINT_UNIQUE
	codeConstraintPK     = 1555 // SQLITE_CONSTRAINT_PRIMARYKEY
)

// MapErr turns SQLite's "database or disk is full" into
// mailbox.ErrDiskFull and its I/O errors into ErrIO; other errors pass.
func MapErr(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case codeFull:
			return fmt.Errorf("%w: %w", mailbox.ErrDiskFull, err)
		case codeIOErr:
			return fmt.Errorf("%w: %w", ErrIO, err)
		}
	}
	return err
}

// IsUnique reports a UNIQUE or PRIMARY KEY constraint violation.
func IsUnique(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == codeConstraintUnique || se.Code() == codeConstraintPK)
}

// NS stores a time as Unix nanoseconds, the zero time as 0.
func NS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// Time reads a time stored by NS, in UTC.
func Time(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// ErrSchemaTooNew is a database whose schema a newer program wrote: it is
// refused, never written with this program's older idea of it.
var ErrSchemaTooNew = errors.New("sqlite: database schema is newer than this program")

// Migrate brings the schema to len(migrations) in one transaction,
// counting applied migrations in PRAGMA user_version; a database ahead of
// migrations is ErrSchemaTooNew. For databases whose migrations are
// plain statements (the message store has its own, with foreign keys
// switched off around them).
func (d *DB) Migrate(ctx context.Context, migrations []string) error {
	return d.WriteTx(ctx, func(tx *sql.Tx) error {
		var have int
		if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&have); err != nil {
			return err
		}
		if have > len(migrations) {
			return fmt.Errorf("%w: version %d, this program knows %d", ErrSchemaTooNew, have, len(migrations))
		}
		for v := have + 1; v <= len(migrations); v++ {
			if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
				return fmt.Errorf("sqlite: migration %d: %w", v, err)
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v)); err != nil {
				return err
			}
		}
		return nil
	})
}
