package storecopy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// Errors of SQLiteToPostgres besides those of the stores.
var (
	// ErrTargetNotEmpty: the target holds rows of a store already (or the
	// data directory a PostgreSQL journal head): the copy never merges.
	ErrTargetNotEmpty = errors.New("storecopy: target store not empty")
	// ErrSchema: source and target do not have the same tables and
	// columns (a program older or newer than one of them).
	ErrSchema = errors.New("storecopy: source and target tables differ")
	// ErrSourceChanged: the source's journal head is not the one just
	// verified (something writes it, or its head row was edited).
	ErrSourceChanged = errors.New("storecopy: source changed during the copy")
	// ErrMismatch: the committed copy does not read back equal to its
	// source (counts, row digests or journal heads).
	ErrMismatch = errors.New("storecopy: copy differs from its source")
)

// Options tune SQLiteToPostgres.
type Options struct {
	// HeadPath is the file the gateway on PostgreSQL will keep its
	// journal head in (gateway.PostgresHeadFile in its data directory);
	// required, and must not exist yet.
	HeadPath string
	// Node names that gateway in journal_anchor; default as postgres.Open.
	Node string
	// SourceBlobs and TargetBlobs: with TargetBlobs set, every blob a
	// kept document refers to is copied from SourceBlobs; nil leaves the
	// blobs where they are.
	SourceBlobs, TargetBlobs mailbox.BlobStore
	// Progress, when set, is called every ProgressEvery rows of a table
	// and at its end.
	Progress      func(table string, rows int64)
	ProgressEvery int64 // default 10000
	// LockTimeout bounds the wait for the target's tables; default 10 s.
	LockTimeout time.Duration
	Now         func() time.Time // default time.Now
	Log         *zap.Logger      // default none
}

// Table is one table on both sides: rows and the SHA-256 over them.
type Table struct {
	Name         string `json:"name"`
	Source       int64  `json:"source"`
	Target       int64  `json:"target"`
	SourceSHA256 string `json:"sourceSha256"`
	TargetSHA256 string `json:"targetSha256"`
}

// Blobs says what happened to the documents' content.
type Blobs struct {
	Copied bool  `json:"copied"` // false: they stay where they are
	Count  int   `json:"count"`
	Bytes  int64 `json:"bytes"`
}

// Report is the outcome of a copy: what each side holds.
type Report struct {
	Tables []Table `json:"tables"`
	// Source and Target are the two journals as VerifyJournal found them.
	Source  mailbox.JournalReport `json:"sourceJournal"`
	Target  mailbox.JournalReport `json:"targetJournal"`
	Blobs   Blobs                 `json:"blobs"`
	Elapsed time.Duration         `json:"elapsedNs"`
	// Match: every table's count and digest and the journal heads are
	// equal, and both journals verified.
	Match bool `json:"match"`
}

// SQLiteToPostgres copies the store src into the PostgreSQL database dsn
// names (migrating its schema first) and checks the copy; see the
// package doc. It returns the report also on ErrMismatch.
func SQLiteToPostgres(ctx context.Context, src *sqlite.Store, dsn string, opt Options) (Report, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = zap.NewNop()
	}
	if opt.ProgressEvery <= 0 {
		opt.ProgressEvery = 10000
	}
	if opt.LockTimeout <= 0 {
		opt.LockTimeout = 10 * time.Second
	}
	start := opt.Now()
	var rep Report
	if opt.HeadPath == "" {
		return rep, fmt.Errorf("%w: storecopy: the target's journal head file is required", mailbox.ErrInvalidInput)
	}
	var err error
	if rep.Source, err = mailbox.VerifyJournal(ctx, src); err != nil {
		return rep, fmt.Errorf("storecopy: source: %w", err)
	}
	if _, err := os.Lstat(opt.HeadPath); err == nil {
		return rep, fmt.Errorf("%w: %s exists: a journal head of a gateway on PostgreSQL already (move it away only if that database is gone)",
			ErrTargetNotEmpty, opt.HeadPath)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil { // the DSN may hold a password: never repeat it
		return rep, fmt.Errorf("%w: storecopy: malformed connection string", mailbox.ErrInvalidInput)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return rep, fmt.Errorf("%w: %w", postgres.ErrUnavailable, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// A database of another site is refused before its schema is touched;
	// the full check runs under the lock after the migration.
	var schema bool
	var msgs, seq int64
	err = conn.QueryRow(ctx, `SELECT to_regclass('messages') IS NOT NULL AND to_regclass('journal_head') IS NOT NULL`).Scan(&schema)
	if err == nil && schema {
		err = conn.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM messages), COALESCE((SELECT MAX(seq) FROM journal_head), 0)`).Scan(&msgs, &seq)
	}
	switch {
	case err != nil:
		return rep, err
	case msgs > 0:
		return rep, fmt.Errorf("%w: messages holds %d rows", ErrTargetNotEmpty, msgs)
	case seq > 0:
		return rep, fmt.Errorf("%w: its journal head is entry %d", ErrTargetNotEmpty, seq)
	}
	if err := postgres.Migrate(ctx, dsn); err != nil {
		return rep, err
	}
	err = src.ReadTx(ctx, func(stx *sql.Tx) error { return copyAll(ctx, stx, conn, &rep, opt) })
	if err != nil {
		return rep, err
	}
	if err := check(ctx, dsn, &rep, opt); err != nil {
		return rep, err
	}
	rep.Elapsed = opt.Now().Sub(start)
	opt.Log.Info("store copied from SQLite to PostgreSQL", zap.Int64("journal_seq", rep.Target.HeadSeq),
		zap.String("journal_hash", rep.Target.HeadHash), zap.Int("blobs", rep.Blobs.Count), zap.Duration("elapsed", rep.Elapsed))
	return rep, nil
}

// copyAll copies every table in one target transaction, from the source
// snapshot stx, and commits.
func copyAll(ctx context.Context, stx *sql.Tx, conn *pgx.Conn, rep *Report, opt Options) error {
	h, err := sqliteHead(ctx, stx)
	if err != nil {
		return err
	}
	if h.Seq != rep.Source.HeadSeq || h.Hash != rep.Source.HeadHash {
		return fmt.Errorf("%w: its head row names entry %d, the verified journal ends at entry %d", ErrSourceChanged, h.Seq, rep.Source.HeadSeq)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", postgres.ErrUnavailable, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	names := make([]string, 0, len(tables)+2)
	for _, t := range tables {
		names = append(names, t.name)
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", opt.LockTimeout.Milliseconds())); err != nil {
		return err
	}
	// EXCLUSIVE lets readers on and keeps every writer (a gateway started
	// on the target too early) waiting until the copy committed.
	if _, err := tx.Exec(ctx, "LOCK TABLE "+strings.Join(append(names, "journal_head", "journal_anchor"), ", ")+" IN EXCLUSIVE MODE"); err != nil {
		return fmt.Errorf("storecopy: lock the target's tables: %w", err)
	}
	if err := targetEmpty(ctx, tx); err != nil {
		return err
	}
	cols, err := columns(ctx, stx, tx)
	if err != nil {
		return err
	}
	if opt.TargetBlobs != nil {
		if rep.Blobs, err = copyBlobs(ctx, stx, opt.SourceBlobs, opt.TargetBlobs); err != nil {
			return err
		}
	}
	for _, t := range tables {
		n, sum, err := copyTable(ctx, stx, tx, t, cols[t.name], opt)
		if err != nil {
			return fmt.Errorf("storecopy: copy %s: %w", t.name, err)
		}
		rep.Tables = append(rep.Tables, Table{Name: t.name, Source: n, SourceSHA256: sum})
	}
	if _, err := tx.Exec(ctx, `UPDATE journal_head SET seq = $1, hash = $2 WHERE id = 1`, h.Seq, headRowHash(h)); err != nil {
		return err
	}
	// New messages continue after the highest copied ID.
	if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('messages', 'id'), MAX(id)) FROM messages HAVING MAX(id) IS NOT NULL`); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// headRowHash is what journal_head holds for h: "" for the empty journal
// (the row PostgreSQL's schema starts with), the entry's hash otherwise.
func headRowHash(h mailbox.JournalHead) string {
	if h.Seq == 0 {
		return ""
	}
	return h.Hash
}

func sqliteHead(ctx context.Context, stx *sql.Tx) (mailbox.JournalHead, error) {
	h := mailbox.JournalHead{Hash: mailbox.GenesisHash}
	err := stx.QueryRowContext(ctx, `SELECT seq, hash FROM journal_head WHERE id = 1`).Scan(&h.Seq, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && h.Seq == 0) {
		return mailbox.JournalHead{Hash: mailbox.GenesisHash}, nil
	}
	return h, err
}

// targetEmpty refuses a target that holds anything of a store: a row in
// a copied table, a journal head or a gateway's anchor.
func targetEmpty(ctx context.Context, tx pgx.Tx) error {
	for _, t := range append(tables, table{name: "journal_anchor"}) {
		var n int64
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM "+t.name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: %s holds %d rows", ErrTargetNotEmpty, t.name, n)
		}
	}
	var seq int64
	if err := tx.QueryRow(ctx, `SELECT seq FROM journal_head WHERE id = 1`).Scan(&seq); err != nil {
		return err
	}
	if seq != 0 {
		return fmt.Errorf("%w: its journal head is entry %d", ErrTargetNotEmpty, seq)
	}
	return nil
}

// copyTable streams one table from the snapshot into the target (COPY)
// and returns its rows and their digest.
func copyTable(ctx context.Context, stx *sql.Tx, tx pgx.Tx, t table, cols []string, opt Options) (int64, string, error) {
	rows, err := stx.QueryContext(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+t.name+" ORDER BY "+t.srcOrder)
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	d := newDigest()
	var n int64
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	next := func() ([]any, error) {
		if !rows.Next() {
			return nil, rows.Err()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := append([]any(nil), vals...)
		d.add(row)
		n++
		if opt.Progress != nil && n%opt.ProgressEvery == 0 {
			opt.Progress(t.name, n)
		}
		return row, nil
	}
	copied, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, cols, pgx.CopyFromFunc(next))
	if err != nil {
		return 0, "", err
	}
	if copied != n {
		return 0, "", fmt.Errorf("%d rows read, %d written", n, copied)
	}
	if opt.Progress != nil {
		opt.Progress(t.name, n)
	}
	return n, d.sum(), nil
}

// copyBlobs copies every blob a kept document of the snapshot refers to,
// re-hashed by the target's Put.
func copyBlobs(ctx context.Context, stx *sql.Tx, from, to mailbox.BlobStore) (Blobs, error) {
	rep := Blobs{Copied: true}
	hashes, err := sqliteStrings(ctx, stx, `SELECT DISTINCT sha256 FROM documents WHERE purged_at = 0 ORDER BY sha256`)
	if err != nil {
		return rep, err
	}
	for _, h := range hashes {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		r, err := from.Open(h)
		if err != nil {
			return rep, fmt.Errorf("storecopy: blob %s: %w", h, err)
		}
		ref, err := to.Put(r)
		r.Close()
		if err != nil {
			return rep, fmt.Errorf("storecopy: blob %s: %w", h, err)
		}
		if ref.SHA256 != h {
			return rep, fmt.Errorf("%w: storecopy: blob %s hashes to %s", mailbox.ErrBlobCorrupt, h, ref.SHA256)
		}
		rep.Count++
		rep.Bytes += ref.Size
	}
	return rep, nil
}
