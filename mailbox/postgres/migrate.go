package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/pgmigrate"
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
	res.From, res.To, err = schema.Up(ctx, cfg)
	if err != nil && !errors.Is(err, ErrSchemaTooNew) {
		err = fmt.Errorf("postgres: %w", mapErr(err))
	}
	return res, err
}

// schema is the store's migrations.
var schema = pgmigrate.Set{Files: migrationFiles, Dir: "migrations", Table: versionTable,
	TooNew: ErrSchemaTooNew, Behind: ErrSchemaBehind}

// Latest is the schema version this program writes: the highest
// numbered embedded migration.
func Latest() int64 { return schema.Latest() }

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
	v, err := schema.Version(ctx, pool)
	return v, mapErr(err)
}

// checkVersion refuses a schema that is ahead of or behind this program.
func checkVersion(ctx context.Context, pool *pgxpool.Pool) error {
	err := schema.Check(ctx, pool)
	if err != nil && !errors.Is(err, ErrSchemaTooNew) && !errors.Is(err, ErrSchemaBehind) {
		return fmt.Errorf("postgres: schema version: %w", mapErr(err))
	}
	return err
}

// SchemaVersion returns the store's applied schema version.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) { return SchemaVersion(ctx, s.pool) }
