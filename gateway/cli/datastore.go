package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// dataStore is what the commands that open a store directly need: the
// SQLite store of a data directory or the PostgreSQL database a
// configuration names.
type dataStore interface {
	mailbox.Store
	Reanchor(ctx context.Context, actor string, now time.Time) (mailbox.JournalHead, error)
}

// errPostgresData: a data directory of a gateway on PostgreSQL holds no
// store of its own; the database is named by the configuration.
var errPostgresData = errors.New("this data directory belongs to a gateway whose store is PostgreSQL: give --config FILE as well, to work on the database the configuration names")

// openDataStore opens the SQLite store of a gateway data directory; it
// never creates one.
func openDataStore(ctx context.Context, dir string) (*dataSource, error) {
	if isPostgresDataDir(dir) {
		return nil, errPostgresData
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, sqlite.FileName), sqlite.Options{MustExist: true})
	if err != nil {
		return nil, err
	}
	return withBlobs(st, dir)
}

// openStoreSource opens the store of the gateway whose data directory is
// dir: with cfgPath "" the SQLite store in dir, else the store the
// configuration names (gateway.OpenStore), whose data_dir must be dir
// (dir "" means the configuration's).
func openStoreSource(ctx context.Context, env *Env, dir, cfgPath string) (*dataSource, error) {
	if cfgPath == "" {
		return openDataStore(ctx, dir)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, err
	}
	if dir == "" {
		dir = cfg.DataDir
	} else if !sameDir(dir, cfg.DataDir) {
		return nil, fmt.Errorf("--data %s is not the configuration's data_dir %s", dir, cfg.DataDir)
	}
	if cfg.Store.Kind != config.StorePostgres {
		return openDataStore(ctx, dir)
	}
	st, err := gateway.OpenStore(ctx, cfg, time.Now, env.Getenv)
	if err != nil {
		return nil, err
	}
	ds, ok := st.(dataStore)
	if !ok {
		st.Close()
		return nil, fmt.Errorf("the %s store cannot be worked on directly", cfg.Store.Kind)
	}
	return withBlobs(ds, dir)
}

func withBlobs(st dataStore, dir string) (*dataSource, error) {
	blobs, err := mailbox.OpenBlobs(filepath.Join(dir, "blobs"), nil)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &dataSource{st: st, blobs: blobs, dir: dir, actor: "cli"}, nil
}

// isPostgresDataDir reports a data directory with the journal head file
// of a gateway on PostgreSQL and no SQLite store.
func isPostgresDataDir(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err == nil {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, gateway.PostgresHeadFile))
	return err == nil
}

func sameDir(a, b string) bool {
	x, err1 := filepath.Abs(a)
	y, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && filepath.Clean(x) == filepath.Clean(y)
}

// errBackupPostgres: backup and restore copy the SQLite store; a database
// server is backed up with its own tools.
var errBackupPostgres = errors.New("the store is PostgreSQL: back up the database with pg_dump (restore with pg_restore) and the shared blob folder with the site's file backup; this command copies a SQLite store")
