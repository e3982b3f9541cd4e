package eeb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/sqlitedb"
)

// FileName is the task database inside a gateway data directory, beside
// the message store.
const FileName = "eeb.db"

// SQLite is the Store on its own SQLite file, with the message store's
// conventions: WAL with synchronous=FULL (a commit is on disk when it
// returns), one writer connection whose transactions start with BEGIN
// IMMEDIATE (so the daemon and the CLI on the same data directory never
// interleave a read-then-write), the file created 0600.
type SQLite struct {
	d    *sqlitedb.DB
	db   *sql.DB // d.W: one connection for reads and writes
	path string
}

var _ Store = (*SQLite)(nil)

// OpenSQLite opens (and unless mustExist creates) the task database;
// with mustExist a missing file is ErrNoDatabase.
func OpenSQLite(ctx context.Context, path string, mustExist bool) (*SQLite, error) {
	d, err := sqlitedb.Open(ctx, path, sqlitedb.Options{MustExist: mustExist})
	if errors.Is(err, sqlitedb.ErrNoDatabase) {
		return nil, fmt.Errorf("%w: %w", ErrNoDatabase, err)
	}
	if err != nil {
		return nil, fmt.Errorf("eeb: %w", err)
	}
	s := &SQLite{d: d, db: d.W, path: d.Path}
	if err := s.migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return s, nil
}

// Path is the database file.
func (s *SQLite) Path() string { return s.path }

// Close closes the database.
func (s *SQLite) Close() error { return s.d.Close() }

var migrations = []string{`
CREATE TABLE cursor (
	id  INTEGER PRIMARY KEY CHECK (id = 1),
	seq INTEGER NOT NULL
);
INSERT INTO cursor (id, seq) VALUES (1, 0);
CREATE TABLE tasks (
	id               INTEGER PRIMARY KEY,
	message_id       INTEGER NOT NULL UNIQUE,
	mailbox          TEXT    NOT NULL,
	court            TEXT    NOT NULL DEFAULT '',
	court_name       TEXT    NOT NULL DEFAULT '',
	court_safe_id    TEXT    NOT NULL,
	court_message_id TEXT    NOT NULL,
	case_court       TEXT    NOT NULL DEFAULT '',
	case_ours        TEXT    NOT NULL DEFAULT '',
	subject          TEXT    NOT NULL DEFAULT '',
	documents        TEXT    NOT NULL DEFAULT '[]',
	received_at      INTEGER NOT NULL,
	created_at       INTEGER NOT NULL,
	state            TEXT    NOT NULL CHECK (state IN ('open', 'answering', 'answered')),
	claimed_by       TEXT    NOT NULL DEFAULT '',
	claimed_until    INTEGER NOT NULL DEFAULT 0,
	answer           TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX tasks_state ON tasks (state, received_at);
CREATE TABLE requests (
	xjustiz_message_id TEXT    PRIMARY KEY,
	message_id         INTEGER NOT NULL,
	eeb_requested      INTEGER NOT NULL
);
CREATE TABLE replies (
	id                 INTEGER PRIMARY KEY,
	message_id         INTEGER NOT NULL UNIQUE,
	our_message_id     INTEGER NOT NULL,
	foreign_message_id TEXT    NOT NULL,
	reply              TEXT    NOT NULL
);
CREATE INDEX replies_ours ON replies (our_message_id);
`}

func (s *SQLite) migrate(ctx context.Context) error {
	err := s.d.Migrate(ctx, migrations)
	if errors.Is(err, sqlitedb.ErrSchemaTooNew) {
		return fmt.Errorf("%w: %w", ErrSchemaTooNew, err)
	}
	return err
}

// write runs fn in one BEGIN IMMEDIATE transaction and commits.
func (s *SQLite) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.d.WriteTx(ctx, fn)
}

var (
	mapErr = sqlitedb.MapErr
	ns     = sqlitedb.NS
	tm     = sqlitedb.Time
)

// Cursor implements Store.
func (s *SQLite) Cursor(ctx context.Context) (int64, error) {
	var seq int64
	err := s.db.QueryRowContext(ctx, `SELECT seq FROM cursor WHERE id = 1`).Scan(&seq)
	return seq, mapErr(err)
}

// Record implements Store.
func (s *SQLite) Record(ctx context.Context, b Batch) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		for _, t := range b.Tasks {
			docs, err := json.Marshal(t.Documents)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO tasks (message_id, mailbox, court, court_name, court_safe_id, court_message_id,
				case_court, case_ours, subject, documents, received_at, created_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open')
				ON CONFLICT (message_id) DO NOTHING`,
				t.MessageID, t.Mailbox, t.Court, t.CourtName, t.CourtSafeID, t.CourtMessageID, t.CaseCourt, t.CaseOurs, t.Subject,
				string(docs), ns(t.ReceivedAt), ns(t.CreatedAt)); err != nil {
				return err
			}
		}
		for _, r := range b.Requests {
			if _, err := tx.ExecContext(ctx, `INSERT INTO requests (xjustiz_message_id, message_id, eeb_requested) VALUES (?, ?, ?)
				ON CONFLICT (xjustiz_message_id) DO NOTHING`, strings.ToLower(r.XJustizMessageID), r.MessageID, r.EEBRequested); err != nil {
				return err
			}
		}
		for _, r := range b.Replies {
			data, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO replies (message_id, our_message_id, foreign_message_id, reply) VALUES (?, ?, ?, ?)
				ON CONFLICT (message_id) DO NOTHING`, r.MessageID, r.OurMessageID, strings.ToLower(r.ForeignMessageID), string(data)); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE cursor SET seq = ? WHERE id = 1 AND seq <= ?`, b.Cursor, b.Cursor)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("eeb: journal position %d is behind the recorded one", b.Cursor)
		}
		return nil
	})
}

const taskColumns = `id, message_id, mailbox, court, court_name, court_safe_id, court_message_id, case_court, case_ours, subject,
	documents, received_at, created_at, state, claimed_by, claimed_until, answer`

type scanner interface{ Scan(...any) error }

func scanTask(r scanner) (Task, error) {
	var t Task
	var docs, answer string
	var recv, created, until int64
	err := r.Scan(&t.ID, &t.MessageID, &t.Mailbox, &t.Court, &t.CourtName, &t.CourtSafeID, &t.CourtMessageID, &t.CaseCourt, &t.CaseOurs,
		&t.Subject, &docs, &recv, &created, &t.State, &t.ClaimedBy, &until, &answer)
	if errors.Is(err, sql.ErrNoRows) {
		return Task{}, ErrNotFound
	}
	if err != nil {
		return Task{}, mapErr(err)
	}
	t.ReceivedAt, t.CreatedAt, t.ClaimedUntil = tm(recv), tm(created), tm(until)
	if err := json.Unmarshal([]byte(docs), &t.Documents); err != nil {
		return Task{}, fmt.Errorf("eeb: task %d: documents: %w", t.ID, err)
	}
	if answer != "" {
		t.Answer = &Answer{}
		if err := json.Unmarshal([]byte(answer), t.Answer); err != nil {
			return Task{}, fmt.Errorf("eeb: task %d: answer: %w", t.ID, err)
		}
	}
	return t, nil
}

// Task implements Store.
func (s *SQLite) Task(ctx context.Context, id int64) (Task, error) {
	return scanTask(s.db.QueryRowContext(ctx, `SELECT `+taskColumns+` FROM tasks WHERE id = ?`, id))
}

// TaskForMessage implements Store.
func (s *SQLite) TaskForMessage(ctx context.Context, messageID int64) (Task, error) {
	return scanTask(s.db.QueryRowContext(ctx, `SELECT `+taskColumns+` FROM tasks WHERE message_id = ?`, messageID))
}

// Tasks implements Store.
func (s *SQLite) Tasks(ctx context.Context, f Filter) ([]Task, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	where, args := []string{"id > ?"}, []any{f.AfterID}
	if f.Mailbox != "" {
		where, args = append(where, "mailbox = ?"), append(args, f.Mailbox)
	}
	if len(f.States) > 0 {
		where = append(where, "state IN (?"+strings.Repeat(", ?", len(f.States)-1)+")")
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+taskColumns+` FROM tasks WHERE `+strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`,
		append(args, f.Limit)...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := []Task{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, mapErr(rows.Err())
}

// Claim implements Store.
func (s *SQLite) Claim(ctx context.Context, id int64, actor string, now, until time.Time) (Task, error) {
	var t Task
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if t, err = scanTask(tx.QueryRowContext(ctx, `SELECT `+taskColumns+` FROM tasks WHERE id = ?`, id)); err != nil {
			return err
		}
		switch {
		case t.State == StateAnswered:
			return fmt.Errorf("%w: task %d by %s at %s", ErrAnswered, id, t.Answer.By, t.Answer.At.Format(time.RFC3339))
		case t.State == StateAnswering && t.ClaimedUntil.After(now):
			return fmt.Errorf("%w: task %d by %s", ErrBusy, id, t.ClaimedBy)
		case t.State == StateOpen:
			t.ClaimedBy = actor
		}
		t.State, t.ClaimedUntil = StateAnswering, until
		_, err = tx.ExecContext(ctx, `UPDATE tasks SET state = 'answering', claimed_by = ?, claimed_until = ? WHERE id = ?`, t.ClaimedBy, ns(until), id)
		return err
	})
	return t, err
}

// Release implements Store.
func (s *SQLite) Release(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE tasks SET state = 'open', claimed_by = '', claimed_until = 0 WHERE id = ? AND state = 'answering'`, id)
		return err
	})
}

// Answered implements Store.
func (s *SQLite) Answered(ctx context.Context, id int64, a Answer) (Task, error) {
	data, err := json.Marshal(a)
	if err != nil {
		return Task{}, err
	}
	var t Task
	err = s.write(ctx, func(tx *sql.Tx) error {
		if t, err = scanTask(tx.QueryRowContext(ctx, `SELECT `+taskColumns+` FROM tasks WHERE id = ?`, id)); err != nil {
			return err
		}
		if t.State == StateAnswered {
			return fmt.Errorf("%w: task %d", ErrAnswered, id)
		}
		t.State, t.ClaimedBy, t.ClaimedUntil, t.Answer = StateAnswered, "", time.Time{}, &a
		_, err := tx.ExecContext(ctx, `UPDATE tasks SET state = 'answered', claimed_by = '', claimed_until = 0, answer = ? WHERE id = ?`, string(data), id)
		return err
	})
	return t, err
}

// Request implements Store.
func (s *SQLite) Request(ctx context.Context, xjustizMessageID string) (Request, error) {
	r := Request{XJustizMessageID: strings.ToLower(xjustizMessageID)}
	err := s.db.QueryRowContext(ctx, `SELECT message_id, eeb_requested FROM requests WHERE xjustiz_message_id = ?`, r.XJustizMessageID).
		Scan(&r.MessageID, &r.EEBRequested)
	if errors.Is(err, sql.ErrNoRows) {
		return Request{}, ErrNotFound
	}
	return r, mapErr(err)
}

func (s *SQLite) replies(ctx context.Context, where string, args ...any) ([]Reply, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, reply FROM replies WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := []Reply{}
	for rows.Next() {
		var id int64
		var data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, mapErr(err)
		}
		var r Reply
		if err := json.Unmarshal([]byte(data), &r); err != nil {
			return nil, fmt.Errorf("eeb: reply %d: %w", id, err)
		}
		r.ID = id
		out = append(out, r)
	}
	return out, mapErr(rows.Err())
}

// ReplyTo implements Store.
func (s *SQLite) ReplyTo(ctx context.Context, ourMessageID int64) ([]Reply, error) {
	return s.replies(ctx, "our_message_id = ? AND our_message_id <> 0", ourMessageID)
}

// ReplyIn implements Store.
func (s *SQLite) ReplyIn(ctx context.Context, messageID int64) (Reply, error) {
	rs, err := s.replies(ctx, "message_id = ?", messageID)
	if err != nil {
		return Reply{}, err
	}
	if len(rs) == 0 {
		return Reply{}, ErrNotFound
	}
	return rs[0], nil
}

// Unmatched implements Store.
func (s *SQLite) Unmatched(ctx context.Context) ([]Reply, error) {
	return s.replies(ctx, "our_message_id = 0")
}
