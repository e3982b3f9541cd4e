package sqlite

import (
	"context"
	"database/sql"
)

// ReadTx runs fn in one read-only transaction on the reader pool: every
// query in fn sees the same committed state, while a writer (in this or
// another process) goes on beside it under WAL. It is for tools that read
// the tables as they are, such as the copy to another store
// (mailbox/storecopy); the store's own methods do not use it.
func (s *Store) ReadTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return mapErr(err)
	}
	defer tx.Rollback()
	// SQLite starts the snapshot at the first read, not at BEGIN: read now.
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		return mapErr(err)
	}
	return fn(tx)
}
