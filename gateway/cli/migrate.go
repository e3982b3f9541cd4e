package cli

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// migrateCommand is the table entry of `migrate`.
func migrateCommand() *Command {
	return &Command{Name: "migrate", Summary: "bring the store's database schema up to this program's version", Run: runMigrate,
		Usage: "migrate --config FILE [--status] [--json]",
		Help: "Apply the pending schema migrations of the store the configuration names (store.kind). On PostgreSQL\n" +
			"run it once before starting gateways of a new version: a gateway refuses to start on a schema behind or\n" +
			"ahead of it. Gateways migrating at the same time take turns (an advisory lock); each migration is one\n" +
			"transaction. A schema newer than this program is left alone and reported (exit 1). The SQLite store\n" +
			"migrates itself when the gateway opens it; here it is opened (and created) to the same effect.\n" +
			"--status only shows the versions."}
}

// migrateReport is what migrate prints.
type migrateReport struct {
	Store   string `json:"store"`
	From    int64  `json:"from"`
	To      int64  `json:"to"`
	Program int64  `json:"program"`
}

func runMigrate(env *Env, fs *flag.FlagSet, args []string) error {
	cfgPath := fs.String("config", "", "gateway configuration (required): its store section")
	status := fs.Bool("status", false, "show the versions, change nothing")
	asJSON := fs.Bool("json", false, "print the outcome as JSON")
	if err := parseArgs(env, fs, args, 0, ""); err != nil {
		return err
	}
	if *cfgPath == "" {
		return usageErrorf(fs, "--config is required")
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	ctx := context.Background()
	var rep migrateReport
	if cfg.Store.Kind == config.StorePostgres {
		rep, err = migratePostgres(ctx, env, cfg, *status)
	} else {
		rep, err = migrateSQLite(ctx, cfg)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, rep)
	}
	switch {
	case *status && rep.Store == config.StorePostgres:
		fmt.Fprintf(env.Stdout, "%s schema version %d, this program's %d\n", rep.Store, rep.From, rep.Program)
	case rep.From == rep.To:
		fmt.Fprintf(env.Stdout, "%s schema is up to date (version %d)\n", rep.Store, rep.To)
	case rep.Store == config.StoreSQLite:
		fmt.Fprintf(env.Stdout, "sqlite schema version %d (the SQLite store migrates itself when opened)\n", rep.To)
	default:
		fmt.Fprintf(env.Stdout, "%s schema migrated from version %d to %d\n", rep.Store, rep.From, rep.To)
	}
	return nil
}

func migratePostgres(ctx context.Context, env *Env, cfg *config.Config, status bool) (migrateReport, error) {
	rep := migrateReport{Store: config.StorePostgres, Program: postgres.Latest()}
	dsn, err := gateway.PostgresDSN(cfg, env.Getenv)
	if err != nil {
		return rep, err
	}
	if status {
		rep.From, err = postgres.Version(ctx, dsn)
		rep.To = rep.From
		return rep, err
	}
	r, err := postgres.MigrateReport(ctx, dsn)
	rep.From, rep.To = r.From, r.To
	return rep, err
}

// migrateSQLite opens the SQLite store, which applies its own pending
// migrations (also with --status: opening it is what migrates it).
func migrateSQLite(ctx context.Context, cfg *config.Config) (migrateReport, error) {
	rep := migrateReport{Store: config.StoreSQLite}
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, sqlite.FileName), sqlite.Options{})
	if err != nil {
		return rep, err
	}
	defer st.Close()
	v, err := st.SchemaVersion(ctx)
	rep.From, rep.To, rep.Program = int64(v), int64(v), int64(v)
	return rep, err
}

// openConfiguredStore opens the store a configuration names, as the
// daemon does (the CLI's commands on a PostgreSQL store).
func openConfiguredStore(ctx context.Context, env *Env, path string) (mailbox.Store, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	return gateway.OpenStore(ctx, cfg, time.Now, env.Getenv)
}
