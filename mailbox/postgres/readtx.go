package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// ReadTx runs fn in one read-only REPEATABLE READ transaction: every
// query in fn sees the same committed state (one snapshot), while other
// gateways go on writing. It is for tools that read the tables as they
// are, such as the check of a copy from another store
// (mailbox/storecopy); the store's own methods do not use it.
func (s *Store) ReadTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return mapErr(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := fn(tx); err != nil {
		return mapErr(err)
	}
	return mapErr(tx.Commit(ctx))
}
