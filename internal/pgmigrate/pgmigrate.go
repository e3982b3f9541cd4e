package pgmigrate

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Set is one schema's migrations.
type Set struct {
	// Files holds the migrations, NNNNN_name.sql, in the directory Dir.
	Files fs.FS
	Dir   string
	// Table is goose's version table of this schema.
	Table string
	// TooNew is wrapped when the database is ahead of Files; Behind
	// when it lacks migrations of Files (Check only).
	TooNew, Behind error
}

// Latest is the schema version the files write: the highest numbered one.
func (s Set) Latest() int64 {
	names, err := fs.Glob(s.Files, path.Join(s.Dir, "*.sql"))
	if err != nil {
		panic(err) // a constant pattern
	}
	var v int64
	for _, n := range names {
		if n, err := goose.NumericComponent(path.Base(n)); err == nil && n > v {
			v = n
		}
	}
	return v
}

// Up applies the pending migrations to the database the connection
// configuration names and returns the versions before and after.
func (s Set) Up(ctx context.Context, cfg *pgx.ConnConfig) (from, to int64, err error) {
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	p, err := s.provider(db)
	if err != nil {
		return 0, 0, err
	}
	if from, err = p.GetDBVersion(ctx); err != nil {
		return 0, 0, fmt.Errorf("schema version: %w", err)
	}
	if latest := s.Latest(); from > latest {
		return from, from, fmt.Errorf("%w: version %d, this program knows %d", s.TooNew, from, latest)
	}
	if _, err := p.Up(ctx); err != nil {
		return from, from, fmt.Errorf("migrate: %w", err)
	}
	to, err = p.GetDBVersion(ctx)
	return from, to, err
}

func (s Set) provider(db *sql.DB) (*goose.Provider, error) {
	files, err := fs.Sub(s.Files, s.Dir)
	if err != nil {
		return nil, err
	}
	l, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db, files, goose.WithTableName(s.Table),
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(l))
}

// Querier is what Version reads with (a pool, a connection, a transaction).
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Version returns the applied schema version (0: none), changing nothing.
func (s Set) Version(ctx context.Context, q Querier) (int64, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, s.Table).Scan(&exists); err != nil {
		return 0, err
	}
	if !exists {
		return 0, nil
	}
	var v int64
	err := q.QueryRow(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM `+s.Table+` WHERE is_applied`).Scan(&v)
	return v, err
}

// Check refuses a schema ahead of the files (TooNew) or behind them
// (Behind); errors of the database come back as they are.
func (s Set) Check(ctx context.Context, q Querier) error {
	v, err := s.Version(ctx, q)
	if err != nil {
		return err
	}
	switch latest := s.Latest(); {
	case v > latest:
		return fmt.Errorf("%w: version %d, this program knows %d", s.TooNew, v, latest)
	case v < latest:
		return fmt.Errorf("%w: version %d, this program needs %d", s.Behind, v, latest)
	}
	return nil
}
