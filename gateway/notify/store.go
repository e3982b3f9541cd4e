package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/sqlitedb"
)

// FileName is the queue database inside a gateway data directory, beside
// the message store.
const FileName = "notify.db"

// Job states.
const (
	StatePending = "pending" // waiting for its (next) attempt
	StateSent    = "sent"    // the mail server or webhook accepted it
	StateFailed  = "failed"  // given up: a permanent failure or Policy exhausted
)

// Job is one notification to one person by one channel.
type Job struct {
	ID      int64
	Notice  Notice
	User    string
	Channel Channel
	// Address is the e-mail address or webhook URL; cleared once the job
	// is done, so the queue keeps no address it no longer needs.
	Address   string
	Format    WebhookFormat
	State     string
	Attempts  int
	CreatedAt time.Time
	NextAt    time.Time
	DoneAt    time.Time
	Reason    string // the last failure's reason code and scrubbed text
}

// Store is the notification queue on its own SQLite file, with the
// message store's conventions: WAL with synchronous=FULL (a commit is on
// disk when it returns), one writer connection whose transactions start
// with BEGIN IMMEDIATE, the file created 0600. It keeps the journal
// cursors, the notices already resolved (each once) and the jobs.
type Store struct {
	d    *sqlitedb.DB
	db   *sql.DB // d.W: one connection for reads and writes
	path string
}

// Open opens (and creates) the queue database.
func Open(ctx context.Context, path string) (*Store, error) {
	d, err := sqlitedb.Open(ctx, path, sqlitedb.Options{})
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	s := &Store{d: d, db: d.W, path: d.Path}
	if err := s.migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return s, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error { return s.d.Close() }

var migrations = []string{`
CREATE TABLE cursors (
	name TEXT PRIMARY KEY,
	seq  INTEGER NOT NULL
);
CREATE TABLE notices (
	key        TEXT PRIMARY KEY,
	created_at INTEGER NOT NULL
);
CREATE TABLE jobs (
	id         INTEGER PRIMARY KEY,
	notice     TEXT    NOT NULL REFERENCES notices (key),
	kind       TEXT    NOT NULL,
	mailbox    TEXT    NOT NULL,
	ref        INTEGER NOT NULL,
	item       INTEGER NOT NULL DEFAULT 0,
	user       TEXT    NOT NULL,
	channel    TEXT    NOT NULL CHECK (channel IN ('email', 'webhook')),
	address    TEXT    NOT NULL,
	format     TEXT    NOT NULL DEFAULT '',
	state      TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
	attempts   INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	next_at    INTEGER NOT NULL,
	done_at    INTEGER NOT NULL DEFAULT 0,
	reason     TEXT    NOT NULL DEFAULT '',
	UNIQUE (notice, user, channel)
);
CREATE INDEX jobs_due ON jobs (state, next_at);
CREATE TABLE preferences (
	user    TEXT    NOT NULL,
	kind    TEXT    NOT NULL,
	email   INTEGER NOT NULL,
	webhook INTEGER NOT NULL,
	PRIMARY KEY (user, kind)
);
CREATE TABLE webhooks (
	user   TEXT PRIMARY KEY,
	url    TEXT NOT NULL,
	format TEXT NOT NULL
);
`}

func (s *Store) migrate(ctx context.Context) error {
	err := s.d.Migrate(ctx, migrations)
	if errors.Is(err, sqlitedb.ErrSchemaTooNew) {
		return fmt.Errorf("%w: %w", ErrSchemaTooNew, err)
	}
	return err
}

// write runs fn in one BEGIN IMMEDIATE transaction and commits.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.d.WriteTx(ctx, fn)
}

var (
	mapErr = sqlitedb.MapErr
	ns     = sqlitedb.NS
	tm     = sqlitedb.Time
)

// Cursor is the last journal entry of the named journal whose notices
// are recorded; ok is false before the first Record naming it.
func (s *Store) Cursor(ctx context.Context, name string) (seq int64, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT seq FROM cursors WHERE name = ?`, name).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return seq, err == nil, mapErr(err)
}

// Told reports whether the notice was recorded before.
func (s *Store) Told(ctx context.Context, n Notice) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM notices WHERE key = ?`, n.key()).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, mapErr(err)
}

// Batch is what one round records: notices with their jobs, and the new
// journal cursors.
type Batch struct {
	Cursors map[string]int64
	Notices []Resolved
}

// Resolved is a notice with the jobs it yields (none when nobody wants
// to hear of it: it is recorded all the same, and told never).
type Resolved struct {
	Notice Notice
	Jobs   []Job
}

// Record commits a batch in one transaction: a notice recorded before
// adds no job, so a batch replayed after a crash tells nobody twice.
// It returns the jobs it queued.
func (s *Store) Record(ctx context.Context, b Batch, now time.Time) (int, error) {
	queued := 0
	err := s.write(ctx, func(tx *sql.Tx) error {
		queued = 0
		for _, r := range b.Notices {
			res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO notices (key, created_at) VALUES (?, ?)`, r.Notice.key(), ns(now))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				continue
			}
			for _, j := range r.Jobs {
				res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO jobs (notice, kind, mailbox, ref, item, user, channel, address, format, state, created_at, next_at)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`, r.Notice.key(), string(r.Notice.Kind), r.Notice.Mailbox, r.Notice.Ref, r.Notice.Item,
					j.User, string(j.Channel), j.Address, string(j.Format), ns(now), ns(now))
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n > 0 {
					queued++
				}
			}
		}
		for name, seq := range b.Cursors {
			if _, err := tx.ExecContext(ctx, `INSERT INTO cursors (name, seq) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq`, name, seq); err != nil {
				return err
			}
		}
		return nil
	})
	return queued, err
}

const jobColumns = `id, kind, mailbox, ref, item, user, channel, address, format, state, attempts, created_at, next_at, done_at, reason`

func scanJob(sc interface{ Scan(...any) error }) (Job, error) {
	var j Job
	var kind, channel, format string
	var created, next, done int64
	err := sc.Scan(&j.ID, &kind, &j.Notice.Mailbox, &j.Notice.Ref, &j.Notice.Item, &j.User, &channel, &j.Address, &format, &j.State, &j.Attempts,
		&created, &next, &done, &j.Reason)
	j.Notice.Kind, j.Channel, j.Format = Kind(kind), Channel(channel), WebhookFormat(format)
	j.CreatedAt, j.NextAt, j.DoneAt = tm(created), tm(next), tm(done)
	return j, err
}

// Due returns up to limit pending jobs whose next attempt is at or
// before now, oldest first.
func (s *Store) Due(ctx context.Context, now time.Time, limit int) ([]Job, error) {
	return s.query(ctx, `SELECT `+jobColumns+` FROM jobs WHERE state = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT ?`, ns(now), limit)
}

// Jobs returns the jobs in a state ("" for all), by id.
func (s *Store) Jobs(ctx context.Context, state string) ([]Job, error) {
	return s.query(ctx, `SELECT `+jobColumns+` FROM jobs WHERE ? = '' OR state = ? ORDER BY id`, state, state)
}

func (s *Store) query(ctx context.Context, q string, args ...any) ([]Job, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, j)
	}
	return out, mapErr(rows.Err())
}

// Finish stores the outcome of an attempt: State, Attempts, NextAt,
// DoneAt and Reason of j. A job that is done (sent or failed) loses its
// address.
func (s *Store) Finish(ctx context.Context, j Job) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		addr := j.Address
		if j.State != StatePending {
			addr = ""
		}
		_, err := tx.ExecContext(ctx, `UPDATE jobs SET state = ?, attempts = ?, next_at = ?, done_at = ?, reason = ?, address = ? WHERE id = ? AND state = 'pending'`,
			j.State, j.Attempts, ns(j.NextAt), ns(j.DoneAt), j.Reason, addr, j.ID)
		return err
	})
}
