// Package sqlite is the register's embedded store (register.Store): its
// own SQLite file (register.db in the gateway's data directory), driven by
// modernc.org/sqlite, kept apart from the mailbox database so that the
// answers, personal data about offences, can be deleted and backed up on
// their own terms.
//
// Durability follows the mailbox store: WAL with synchronous=FULL, so a
// transaction is on disk when Commit returns; one writer connection with
// BEGIN IMMEDIATE, so claims never hand the same query or filing to two
// workers, also across processes (the CLI beside the daemon); reads on a
// separate read-only pool; the file created 0600. secure_delete is on:
// a deleted answer's pages are overwritten with zeros, not left in free
// space (the WAL keeps old pages only until the next checkpoint).
//
// The journal's head is anchored in register.db.journal-head after every
// commit that appended entries, under an flock, never moved backwards; a
// failed head write does not undo its commit. A full disk surfaces as
// mailbox.ErrDiskFull, an I/O error as the mailbox store's ErrIO (the
// process should exit; recovery continues from the last commit).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/sqlitedb"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	msqlite "github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// FileName is the database file inside a gateway data directory.
const FileName = "register.db"

// HeadSuffix names the journal head file beside the database.
const HeadSuffix = ".journal-head"

// Options tune Open. The zero value is safe.
type Options struct {
	MustExist   bool          // fail instead of creating a new database
	BusyTimeout time.Duration // default 10s
}

// Store implements register.Store on SQLite.
type Store struct {
	d        *sqlitedb.DB
	w, r     *sql.DB // d.W, d.R
	path     string
	anchorMu sync.Mutex
}

var _ register.Store = (*Store)(nil)

// Open opens (and, unless MustExist, creates) the database at path and
// applies pending migrations.
func Open(ctx context.Context, path string, opt Options) (*Store, error) {
	// secure_delete: a deleted answer's bytes are overwritten, not left in
	// free pages (answers are personal data about offences).
	d, err := sqlitedb.Open(ctx, path, sqlitedb.Options{MustExist: opt.MustExist, BusyTimeout: opt.BusyTimeout, Readers: 4,
		Pragmas: []string{"secure_delete(1)"}})
	if err != nil {
		return nil, fmt.Errorf("register/%w", err)
	}
	s := &Store{d: d, w: d.W, r: d.R, path: d.Path}
	if err := s.migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	// A process that stopped between a commit and its head write left
	// the head behind: bring it up to date.
	if h, err := s.head(ctx, s.r); err == nil && h.Seq > 0 {
		_ = s.anchor(h)
	}
	return s, nil
}

// Path returns the database file; HeadPath the journal head file.
func (s *Store) Path() string     { return s.path }
func (s *Store) HeadPath() string { return s.path + HeadSuffix }

// Close closes both pools.
func (s *Store) Close() error { return s.d.Close() }

func (s *Store) migrate(ctx context.Context) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
			return err
		}
		var have int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
			return err
		}
		if have > len(migrations) {
			return fmt.Errorf("%w: version %d, this program knows %d", msqlite.ErrSchemaTooNew, have, len(migrations))
		}
		for v := have + 1; v <= len(migrations); v++ {
			if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
				return fmt.Errorf("register/sqlite: migration %d: %w", v, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, time.Now().UnixNano()); err != nil {
				return err
			}
		}
		return nil
	})
}

// write runs fn in a BEGIN IMMEDIATE transaction, appends the journal
// entries fn returns in the same transaction, commits, and anchors the
// new head.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) ([]register.Entry, error)) error {
	var h mailbox.JournalHead
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		es, err := fn(tx)
		if err != nil {
			return err
		}
		for _, e := range es {
			if h, err = appendEntry(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && h.Seq > 0 {
		_ = s.anchor(h)
	}
	return err
}

func (s *Store) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.d.WriteTx(ctx, fn)
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func (s *Store) head(ctx context.Context, q querier) (mailbox.JournalHead, error) {
	h := mailbox.JournalHead{Hash: mailbox.GenesisHash}
	err := q.QueryRowContext(ctx, `SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1`).Scan(&h.Seq, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return h, nil
	}
	return h, mapErr(err)
}

func appendEntry(ctx context.Context, tx *sql.Tx, e register.Entry) (mailbox.JournalHead, error) {
	var seq int64
	prev := mailbox.GenesisHash
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return mailbox.JournalHead{}, err
	}
	ev := mailbox.Seal(e.Input(), seq+1, prev)
	_, err = tx.ExecContext(ctx, `INSERT INTO journal (seq, at, procedure_id, kind, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		ev.Seq, ev.At.UnixNano(), ev.MessageID, ev.Kind, ev.Detail, ev.PrevHash, ev.Hash)
	return mailbox.JournalHead{Seq: ev.Seq, Hash: ev.Hash}, err
}

// anchor writes h to the head file unless the file is already at or past
// it; an flock orders the processes that share the database.
func (s *Store) anchor(h mailbox.JournalHead) error {
	s.anchorMu.Lock()
	defer s.anchorMu.Unlock()
	lf, err := os.OpenFile(s.HeadPath()+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN) //nolint:errcheck
	if cur, err := mailbox.ReadJournalHead(nil, s.HeadPath()); err == nil && cur.Seq >= h.Seq {
		return nil
	}
	return mailbox.WriteJournalHead(nil, s.HeadPath(), h)
}

// AnchoredHead returns the head kept in HeadPath.
func (s *Store) AnchoredHead(ctx context.Context) (mailbox.JournalHead, error) {
	h, err := mailbox.ReadJournalHead(nil, s.HeadPath())
	if errors.Is(err, mailbox.ErrNotFound) {
		return h, fmt.Errorf("%w: %s", mailbox.ErrNoAnchor, s.HeadPath())
	}
	return h, err
}

// Events returns journal entries with Seq > after.
func (s *Store) Events(ctx context.Context, after int64, limit int) ([]mailbox.Event, error) {
	out, err := selectAll(ctx, s.r, func(row scanner) (mailbox.Event, error) {
		var e mailbox.Event
		var at int64
		err := row.Scan(&e.Seq, &at, &e.MessageID, &e.Kind, &e.Detail, &e.PrevHash, &e.Hash)
		e.At = tm(at)
		return e, err
	}, `SELECT seq, at, procedure_id, kind, detail, prev_hash, hash FROM journal WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	return out, mapErr(err)
}

// Append adds a journal entry that belongs to no state change.
func (s *Store) Append(ctx context.Context, e register.Entry) error {
	return s.write(ctx, func(*sql.Tx) ([]register.Entry, error) { return []register.Entry{e}, nil })
}

var (
	isUnique = sqlitedb.IsUnique
	mapErr   = sqlitedb.MapErr
	ns       = sqlitedb.NS
	tm       = sqlitedb.Time
)
