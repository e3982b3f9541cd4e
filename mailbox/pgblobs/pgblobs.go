package pgblobs

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/pgmigrate"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/internal/blobstore"
)

// Errors besides those of mailbox.
var (
	// ErrUnavailable marks a failure to reach the server or a statement
	// it refused: temporary, and nothing was reported committed.
	ErrUnavailable = errors.New("pgblobs: database unavailable")
	// ErrSchemaTooNew: the blob tables were migrated by a newer gateway.
	ErrSchemaTooNew = errors.New("pgblobs: blob schema is newer than this program")
	// ErrSchemaBehind: migrations are pending; run `bebpo-gateway migrate`.
	ErrSchemaBehind = errors.New("pgblobs: blob schema is behind this program (run bebpo-gateway migrate)")
)

// ChunkSize is the size of one row of blob_chunks.
const ChunkSize = 1 << 20

// collectLockKey is the advisory lock of the blob collection.
const collectLockKey int64 = 0x6265_6270_6f62_6c62 // "bepoblb"

//go:embed migrations/*.sql
var migrationFiles embed.FS

const versionTable = "blob_schema_migrations"

// Options tune Open.
type Options struct {
	// MaxConns bounds the connection pool, and so the blobs written at
	// once (each holds a connection until Commit); default 8.
	MaxConns int32
	// Migrate applies pending migrations at Open; without it pending
	// migrations are ErrSchemaBehind.
	Migrate bool
	// Timeout bounds one statement; default 30 s.
	Timeout time.Duration
	// Now stamps written_at; default time.Now.
	Now func() time.Time
	// MaxBytes limits one blob; default mailbox.DefaultMaxBlobBytes.
	MaxBytes int64
}

// Store is a mailbox.BlobStore in PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	o    Options
}

var _ mailbox.BlobStore = (*Store)(nil)

// Open connects to the database dsn names and checks (or, with
// Options.Migrate, brings up) the blob schema.
func Open(ctx context.Context, dsn string, o Options) (*Store, error) {
	if o.MaxConns <= 0 {
		o.MaxConns = 8
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: pgblobs: malformed connection string", mailbox.ErrInvalidInput)
	}
	cfg.MaxConns = o.MaxConns
	if o.Migrate {
		if err := Migrate(ctx, dsn); err != nil {
			return nil, err
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, mapErr("connect", err)
	}
	s := &Store{pool: pool, o: o}
	err = schema.Check(ctx, pool)
	if err != nil && !errors.Is(err, ErrSchemaTooNew) && !errors.Is(err, ErrSchemaBehind) {
		err = mapErr("schema version", err)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the connections; writers still open fail.
func (s *Store) Close() { s.pool.Close() }

// Migrate applies the pending migrations of the blob tables under an
// advisory lock; a schema ahead of this program is ErrSchemaTooNew.
func Migrate(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("%w: pgblobs: malformed connection string", mailbox.ErrInvalidInput)
	}
	_, _, err = schema.Up(ctx, cfg)
	if err != nil && !errors.Is(err, ErrSchemaTooNew) {
		err = mapErr("migrate", err)
	}
	return err
}

// schema is the blob tables' migrations.
var schema = pgmigrate.Set{Files: migrationFiles, Dir: "migrations", Table: versionTable,
	TooNew: ErrSchemaTooNew, Behind: ErrSchemaBehind}

// Latest is the blob schema version this program writes.
func Latest() int64 { return schema.Latest() }

func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "53100" || pe.Code == "53400") { // disk_full, configuration_limit_exceeded
		return fmt.Errorf("%w: pgblobs: %s: %w", mailbox.ErrDiskFull, op, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
}

func (s *Store) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.o.Timeout)
}

// writer is an uncommitted blob: a transaction inserting chunks.
type writer struct {
	s      *Store
	tx     pgx.Tx
	id     int64
	buf    []byte
	chunks int32
	blobstore.State
}

// Begin starts a blob: a transaction and a blob id.
func (s *Store) Begin() (mailbox.BlobWriter, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, mapErr("begin blob", err)
	}
	w := &writer{s: s, tx: tx, State: blobstore.New(s.o.MaxBytes), buf: make([]byte, 0, ChunkSize)}
	if err := tx.QueryRow(ctx, `SELECT nextval('blob_ids')`).Scan(&w.id); err != nil {
		_ = tx.Rollback(context.Background())
		return nil, mapErr("begin blob", err)
	}
	return w, nil
}

func (w *writer) Write(p []byte) (int, error) {
	if err := w.Admit(p); err != nil {
		return 0, err
	}
	n := 0
	for n < len(p) {
		c := copy(w.buf[len(w.buf):cap(w.buf)], p[n:])
		w.buf = w.buf[:len(w.buf)+c]
		n += c
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(); err != nil {
				w.Took(p[:n])
				return n, err
			}
		}
	}
	w.Took(p)
	return n, nil
}

// flush inserts the buffered bytes as the next chunk.
func (w *writer) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	ctx, cancel := w.s.ctx()
	defer cancel()
	if _, err := w.tx.Exec(ctx, `INSERT INTO blob_chunks (blob_id, idx, data) VALUES ($1, $2, $3)`, w.id, w.chunks, w.buf); err != nil {
		w.Err = mapErr("write blob", err)
		return w.Err
	}
	w.chunks++
	w.buf = w.buf[:0]
	return nil
}

// Open reads back the chunks written so far, inside the transaction; not
// to be used at the same time as Write.
func (w *writer) Open() (io.ReadCloser, error) {
	if w.Done {
		return nil, mailbox.ErrClosed
	}
	if w.Err != nil {
		return nil, w.Err
	}
	if err := w.flush(); err != nil {
		return nil, err
	}
	return &reader{q: w.tx, s: w.s, id: w.id, chunks: w.chunks}, nil
}

// Commit names the chunks by their hash and commits.
func (w *writer) Commit() (mailbox.BlobRef, error) {
	if w.Done {
		return mailbox.BlobRef{}, mailbox.ErrClosed
	}
	if w.Err != nil {
		w.Abort()
		return mailbox.BlobRef{}, w.Err
	}
	if err := w.flush(); err != nil {
		w.Abort()
		return mailbox.BlobRef{}, err
	}
	ref := w.Ref()
	ctx, cancel := w.s.ctx()
	defer cancel()
	var id int64
	err := w.tx.QueryRow(ctx, `INSERT INTO blobs (sha256, blob_id, size, chunks, written_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (sha256) DO UPDATE SET written_at = excluded.written_at RETURNING blob_id`,
		ref.SHA256, w.id, ref.Size, w.chunks, w.s.o.Now()).Scan(&id)
	if err == nil && id != w.id { // the content is there already
		_, err = w.tx.Exec(ctx, `DELETE FROM blob_chunks WHERE blob_id = $1`, w.id)
	}
	if err == nil {
		err = w.tx.Commit(ctx)
	}
	if err != nil {
		w.Abort()
		return mailbox.BlobRef{}, mapErr("commit blob", err)
	}
	w.Done = true
	return ref, nil
}

// Abort rolls the transaction back.
func (w *writer) Abort() {
	if w.Done {
		return
	}
	w.Done = true
	ctx, cancel := w.s.ctx()
	defer cancel()
	_ = w.tx.Rollback(ctx)
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// reader reads a blob one chunk per query.
type reader struct {
	q      querier
	s      *Store
	id     int64
	chunks int32
	next   int32
	cur    []byte
}

func (r *reader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.next >= r.chunks {
			return 0, io.EOF
		}
		ctx, cancel := r.s.ctx()
		err := r.q.QueryRow(ctx, `SELECT data FROM blob_chunks WHERE blob_id = $1 AND idx = $2`, r.id, r.next).Scan(&r.cur)
		cancel()
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, fmt.Errorf("%w: chunk %d removed while read", mailbox.ErrBlobMissing, r.next)
		}
		if err != nil {
			return 0, mapErr("read blob", err)
		}
		r.next++
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

func (r *reader) Close() error { r.cur = nil; r.next = r.chunks; return nil }

// Put stores all of r as one blob.
func (s *Store) Put(r io.Reader) (mailbox.BlobRef, error) { return mailbox.PutBlob(s, r) }

// Verify re-hashes a blob.
func (s *Store) Verify(h string) error { return mailbox.VerifyBlob(s, h) }

func (s *Store) lookup(h string) (id int64, size int64, chunks int32, err error) {
	if !mailbox.ValidBlobName(h) {
		return 0, 0, 0, fmt.Errorf("%w: %q is not a SHA-256", mailbox.ErrBlobMissing, h)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	err = s.pool.QueryRow(ctx, `SELECT blob_id, size, chunks FROM blobs WHERE sha256 = $1`, h).Scan(&id, &size, &chunks)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, 0, fmt.Errorf("%w: %s", mailbox.ErrBlobMissing, h)
	}
	return id, size, chunks, mapErr("look up blob", err)
}

// Stat returns the size of a blob.
func (s *Store) Stat(h string) (int64, error) {
	_, size, _, err := s.lookup(h)
	return size, err
}

// Open returns the content of a blob.
func (s *Store) Open(h string) (io.ReadCloser, error) {
	id, _, chunks, err := s.lookup(h)
	if err != nil {
		return nil, err
	}
	return &reader{q: s.pool, s: s, id: id, chunks: chunks}, nil
}

// Collect removes blob h, its row locked while referenced is asked; see
// the package doc.
func (s *Store) Collect(h string, writtenBefore time.Time, referenced func() (bool, error)) (mailbox.CollectOutcome, int64, error) {
	if !mailbox.ValidBlobName(h) {
		return mailbox.CollectGone, 0, nil
	}
	ctx := context.Background()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, 0, mapErr("collect blob", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit a no-op
	var (
		id, size int64
		written  time.Time
	)
	qctx, cancel := s.ctx()
	defer cancel()
	err = tx.QueryRow(qctx, `SELECT blob_id, size, written_at FROM blobs WHERE sha256 = $1 FOR UPDATE`, h).Scan(&id, &size, &written)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, mapErr("collect blob", err)
	}
	if out, remove, err := blobstore.Collectable(err == nil, written, writtenBefore, referenced); !remove {
		return out, 0, err
	}
	dctx, cancel2 := s.ctx()
	defer cancel2()
	if _, err := tx.Exec(dctx, `DELETE FROM blob_chunks WHERE blob_id = $1`, id); err != nil {
		return 0, 0, mapErr("remove blob", err)
	}
	if _, err := tx.Exec(dctx, `DELETE FROM blobs WHERE sha256 = $1`, h); err != nil {
		return 0, 0, mapErr("remove blob", err)
	}
	if err := tx.Commit(dctx); err != nil {
		return 0, 0, mapErr("remove blob", err)
	}
	return mailbox.CollectRemoved, size, nil
}

// LockCollection takes the advisory lock of the collection, waiting.
func (s *Store) LockCollection() (func(), error) {
	return s.lock(`SELECT true FROM pg_advisory_lock($1)`)
}

// TryLockCollection takes it without waiting.
func (s *Store) TryLockCollection() (func(), error) {
	return s.lock(`SELECT pg_try_advisory_lock($1)`)
}

func (s *Store) lock(q string) (func(), error) {
	ctx := context.Background()
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, mapErr("blob collection lock", err)
	}
	var ok bool
	if err := c.QueryRow(ctx, q, collectLockKey).Scan(&ok); err != nil {
		c.Release()
		return nil, mapErr("blob collection lock", err)
	}
	if !ok {
		c.Release()
		return nil, mailbox.ErrCollectionBusy
	}
	return func() {
		ctx, cancel := s.ctx()
		defer cancel()
		if _, err := c.Exec(ctx, `SELECT pg_advisory_unlock($1)`, collectLockKey); err != nil {
			// A connection that cannot unlock must not go back to the pool
			// holding the lock: closing it releases the lock.
			_ = c.Conn().Close(ctx)
		}
		c.Release()
	}, nil
}
