package gateway

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// PostgresHeadFile is the file in data_dir where a gateway on PostgreSQL
// keeps the journal head (each gateway its own; see mailbox/postgres).
const PostgresHeadFile = "postgres.journal-head"

// OpenStore opens the mailbox store cfg.Store names: the SQLite file in
// data_dir, or the PostgreSQL database, whose schema must be the one this
// program writes (postgres.ErrSchemaBehind: run `bebpo-gateway migrate`).
func OpenStore(ctx context.Context, cfg *config.Config, now func() time.Time, getenv func(string) string) (mailbox.Store, error) {
	if cfg.Store.Kind != config.StorePostgres {
		return sqlite.Open(ctx, filepath.Join(cfg.DataDir, sqlite.FileName), sqlite.Options{Now: now})
	}
	dsn, err := PostgresDSN(cfg, getenv)
	if err != nil {
		return nil, err
	}
	return postgres.Open(ctx, dsn, postgres.Options{HeadPath: filepath.Join(cfg.DataDir, PostgresHeadFile),
		MaxConns: cfg.Store.MaxConns, Now: now})
}

// PostgresDSN reads the connection string store.dsn refers to.
func PostgresDSN(cfg *config.Config, getenv func(string) string) (string, error) {
	return dsnAt(cfg, cfg.Store.DSN, "store.dsn", getenv)
}

// dsnAt reads the connection string the configuration names at key,
// which must not be empty.
func dsnAt(cfg *config.Config, ref config.SecretRef, key string, getenv func(string) string) (string, error) {
	dsn, err := secretAt(cfg, ref, key, getenv)
	if err == nil && dsn == "" {
		err = fmt.Errorf("%w: %s: empty", config.ErrConfig, key)
	}
	return dsn, err
}

// secretAt reads the secret the configuration names at key; one that
// cannot be read is config.ErrConfig naming the key.
func secretAt(cfg *config.Config, ref config.SecretRef, key string, getenv func(string) string) (string, error) {
	v, err := cfg.Resolve(ref, getenv)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", config.ErrConfig, key, err)
	}
	return v, nil
}
