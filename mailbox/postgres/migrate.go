package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// versionTable records the applied migrations (goose's bookkeeping).
const versionTable = "schema_migrations"

// MigrationResult is what Migrate did.
type MigrationResult struct {
	From, To int64 // schema versions before and after
}

// Migrate applies the pending migrations, each in its own transaction,
// under a PostgreSQL advisory lock so that gateways started together
// migrate once. A database migrated further than this program knows is
// ErrSchemaTooNew and left alone.
func Migrate(ctx context.Context, dsn string) error {
	_, err := MigrateReport(ctx, dsn)
	return err
}

// MigrateReport is Migrate returning the versions before and after.
func MigrateReport(ctx context.Context, dsn string) (MigrationResult, error) {
	var res MigrationResult
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return res, fmt.Errorf("%w: postgres: malformed connection string", mailbox.ErrInvalidInput)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	p, err := provider(db, true)
	if err != nil {
		return res, err
	}
	if res.From, err = p.GetDBVersion(ctx); err != nil {
		return res, fmt.Errorf("postgres: schema version: %w", mapErr(err))
	}
	if res.From > Latest() {
		return res, fmt.Errorf("%w: version %d, this program knows %d", ErrSchemaTooNew, res.From, Latest())
	}
	if _, err := p.Up(ctx); err != nil {
		return res, fmt.Errorf("postgres: migrate: %w", mapErr(err))
	}
	res.To, err = p.GetDBVersion(ctx)
	return res, mapErr(err)
}

// Latest is the schema version this program writes: the highest
// numbered embedded migration.
func Latest() int64 {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		panic(err) // a constant pattern
	}
	var v int64
	for _, n := range names {
		if n, err := goose.NumericComponent(n); err == nil && n > v {
			v = n
		}
	}
	return v
}

func provider(db *sql.DB, locked bool) (*goose.Provider, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithTableName(versionTable), goose.WithDisableGlobalRegistry(true)}
	if locked {
		l, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(l))
	}
	return goose.NewProvider(goose.DialectPostgres, db, sub, opts...)
}

// Version returns the schema version of the database dsn names (0: none
// applied), changing nothing.
func Version(ctx context.Context, dsn string) (int64, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return 0, fmt.Errorf("%w: postgres: malformed connection string", mailbox.ErrInvalidInput)
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return 0, mapErr(err)
	}
	defer pool.Close()
	return SchemaVersion(ctx, pool)
}

// SchemaVersion returns the applied schema version (0: none).
func SchemaVersion(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, versionTable).Scan(&exists); err != nil {
		return 0, mapErr(err)
	}
	if !exists {
		return 0, nil
	}
	var v int64
	err := pool.QueryRow(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM `+versionTable+` WHERE is_applied`).Scan(&v)
	return v, mapErr(err)
}

// checkVersion refuses a schema that is ahead of or behind this program.
func checkVersion(ctx context.Context, pool *pgxpool.Pool) error {
	v, err := SchemaVersion(ctx, pool)
	if err != nil {
		return fmt.Errorf("postgres: schema version: %w", err)
	}
	switch latest := Latest(); {
	case v > latest:
		return fmt.Errorf("%w: version %d, this program knows %d", ErrSchemaTooNew, v, latest)
	case v < latest:
		return fmt.Errorf("%w: version %d, this program needs %d", ErrSchemaBehind, v, latest)
	}
	return nil
}

// SchemaVersion returns the store's applied schema version.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) { return SchemaVersion(ctx, s.pool) }
