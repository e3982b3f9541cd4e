package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/notify"
	rsqlite "github.com/stadt-erkelenz/bebpo-gateway/gateway/register/sqlite"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/durable"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/storecopy"
)

// migrateCommand is the table entry of `migrate`.
func migrateCommand() *Command {
	return &Command{Name: "migrate", Summary: "bring the store's database schema up to this program's version, or move the store to PostgreSQL", Run: runMigrate,
		Usage: "migrate --config FILE [--status] [--json] | migrate --config FILE --from sqlite --to postgres [--from-data DIR] [--json]",
		Help: "Apply the pending schema migrations of the store the configuration names (store.kind). On PostgreSQL\n" +
			"run it once before starting gateways of a new version: a gateway refuses to start on a schema behind or\n" +
			"ahead of it. Gateways migrating at the same time take turns (an advisory lock); each migration is one\n" +
			"transaction. A schema newer than this program is left alone and reported (exit 1). The SQLite store\n" +
			"migrates itself when the gateway opens it; here it is opened (and created) to the same effect.\n" +
			"--status only shows the versions.\n\n" +
			"With --from sqlite --to postgres it moves a site's store: the SQLite store of data_dir (or --from-data DIR)\n" +
			"into the PostgreSQL database the configuration names (store.kind postgres, store.dsn: the configuration the\n" +
			"gateway runs with afterwards). Stop the gateway first: a running one (holding the data directory lock) is\n" +
			"refused, as is a database that holds anything of a store (no merge); both exit 2. The source's journal is\n" +
			"verified first, as 'journal verify' does; a broken one is refused before anything is written (exit 1). All\n" +
			"rows are copied in one transaction: an interruption (Ctrl-C, a lost connection) leaves the database empty\n" +
			"and the command can simply be run again. Afterwards the database is opened as the gateway does (writing\n" +
			"postgres.journal-head in data_dir), its journal verified, every table read back: the report shows the rows\n" +
			"and journal head of both sides; exit 0 only when they match; then the SQLite store is moved aside into\n" +
			"data_dir/sqlite-moved-to-postgres-TIME, so nothing takes it for the record. Documents stay in the folder (blobs.kind folder);\n" +
			"with blobs.kind postgres or s3 each is copied and re-hashed. eeb.db, notify.db and register.db are not part\n" +
			"of the store and stay in data_dir. See docs/scale.md."}
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
	from := fs.String("from", "", "move the store from this kind: sqlite (with --to)")
	to := fs.String("to", "", "move the store to this kind: postgres, the database store.dsn names (with --from)")
	fromData := fs.String("from-data", "", "with --from sqlite: the data directory holding gateway.db (default: data_dir)")
	if err := parseArgs(env, fs, args, 0, ""); err != nil {
		return err
	}
	if *cfgPath == "" {
		return usageErrorf(fs, "--config is required")
	}
	move := *from != "" || *to != ""
	switch {
	case move && (*from != config.StoreSQLite || *to != config.StorePostgres):
		return usageErrorf(fs, "only --from sqlite --to postgres is supported")
	case move && *status:
		return usageErrorf(fs, "--status does not go with --from/--to")
	case !move && *fromData != "":
		return usageErrorf(fs, "--from-data needs --from sqlite --to postgres")
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if move {
		return runStoreMove(env, fs, cfg, *fromData, *asJSON)
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

// storeMoveReport is what `migrate --from sqlite --to postgres` prints.
type storeMoveReport struct {
	From          string                `json:"from"`
	To            string                `json:"to"`
	Source        string                `json:"source"` // the SQLite file
	Tables        []storecopy.Table     `json:"tables"`
	SourceJournal mailbox.JournalReport `json:"sourceJournal"`
	TargetJournal mailbox.JournalReport `json:"targetJournal"`
	Blobs         storecopy.Blobs       `json:"blobs"`
	BlobsKind     string                `json:"blobsKind"`
	BlobsFolder   string                `json:"blobsFolder,omitempty"` // where they stay, when not copied
	LeftBehind    []string              `json:"leftBehind"`            // files of the data directory that are not the store
	MovedAside    string                `json:"movedAside,omitempty"`  // where the SQLite store went after the move
	Seconds       float64               `json:"seconds"`
	Match         bool                  `json:"match"`
}

// notStoreFiles are the databases of a data directory that are not part
// of the mailbox store: the gateway keeps them in data_dir whatever
// store.kind says.
var notStoreFiles = []string{eeb.FileName, notify.FileName, rsqlite.FileName, config.AddressBookFile}

// runStoreMove moves the SQLite store of a stopped gateway into the
// PostgreSQL database cfg names (mailbox/storecopy).
func runStoreMove(env *Env, fs *flag.FlagSet, cfg *config.Config, fromData string, asJSON bool) error {
	if cfg.Store.Kind != config.StorePostgres {
		return usageErrorf(fs, "--to postgres takes the database from the configuration the gateway runs with afterwards: set store.kind: postgres and store.dsn")
	}
	dsn, err := gateway.PostgresDSN(cfg, env.Getenv)
	if err != nil {
		return err
	}
	srcDir := cfg.DataDir
	if fromData != "" {
		srcDir = fromData
	}
	dirs := []string{srcDir}
	if !sameDir(srcDir, cfg.DataDir) {
		dirs = append(dirs, cfg.DataDir)
	}
	for _, dir := range dirs {
		lock, err := gateway.LockDataDir(dir)
		if errors.Is(err, gateway.ErrLocked) {
			return refuse(env, "a gateway is running on %s (it holds the data directory lock): stop it first; moving the store of a running gateway would lose what it stores meanwhile", dir)
		}
		if err != nil {
			return err
		}
		defer lock.Close()
	}
	srcPath := filepath.Join(srcDir, sqlite.FileName)
	if _, err := os.Stat(srcPath); err != nil {
		return refuse(env, "no SQLite store to move: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	src, err := sqlite.Open(ctx, srcPath, sqlite.Options{MustExist: true})
	if err != nil {
		return err
	}
	defer func() {
		if src != nil {
			src.Close()
		}
	}()
	rep := storeMoveReport{From: config.StoreSQLite, To: config.StorePostgres, Source: srcPath, BlobsKind: cfg.Blobs.Kind}
	if rep.BlobsKind == "" {
		rep.BlobsKind = config.BlobsFolder
	}
	opt := storecopy.Options{HeadPath: filepath.Join(cfg.DataDir, gateway.PostgresHeadFile),
		Progress: func(table string, n int64) { fmt.Fprintf(env.Stderr, "copied %s: %d rows\n", table, n) }}
	if rep.BlobsKind == config.BlobsFolder && sameDir(srcDir, cfg.DataDir) {
		rep.BlobsFolder = filepath.Join(cfg.DataDir, "blobs")
	} else {
		if opt.SourceBlobs, err = mailbox.OpenBlobs(filepath.Join(srcDir, "blobs"), nil); err != nil {
			return err
		}
		target, closeBlobs, err := gateway.OpenBlobStore(ctx, cfg, time.Now, env.Getenv)
		if err != nil {
			return err
		}
		defer closeBlobs()
		opt.TargetBlobs = target
	}
	for _, f := range notStoreFiles {
		if _, err := os.Stat(filepath.Join(srcDir, f)); err == nil {
			rep.LeftBehind = append(rep.LeftBehind, f)
		}
	}
	r, err := storecopy.SQLiteToPostgres(ctx, src, dsn, opt)
	rep.Tables, rep.SourceJournal, rep.TargetJournal, rep.Blobs = r.Tables, r.Source, r.Target, r.Blobs
	rep.Seconds, rep.Match = r.Elapsed.Seconds(), r.Match
	switch {
	case errors.Is(err, storecopy.ErrTargetNotEmpty):
		return refuse(env, "%v: the move never merges; give an empty database (nothing was written)", strings.TrimPrefix(err.Error(), "storecopy: "))
	case err != nil && r.Source.BrokenAt != 0:
		return fmt.Errorf("the source journal is broken at entry %d: %s (%d entries before it are intact); nothing was written", r.Source.BrokenAt, r.Source.Reason, r.Source.Entries)
	case err != nil && !errors.Is(err, storecopy.ErrMismatch):
		return err
	case err == nil:
		// The copy is the record now: the SQLite store goes aside, so
		// that no gateway or command started on this directory takes it
		// for the record (and sends again what was sent since).
		cerr := src.Close()
		src = nil
		if cerr != nil {
			return cerr
		}
		if rep.MovedAside, err = moveAside(srcDir, time.Now()); err != nil {
			return fmt.Errorf("the store was copied and checked, but moving the SQLite store aside failed: %w; move %s and its -wal, -shm and %s files out of %s before starting a gateway",
				err, sqlite.FileName, sqlite.HeadSuffix, srcDir)
		}
	}
	if asJSON {
		if perr := printJSON(env.Stdout, rep); perr != nil {
			return perr
		}
	} else {
		printStoreMove(env.Stdout, rep, srcDir)
	}
	return err
}

// refuse reports a move refused before anything was written: exit 2, as
// for a command line or configuration that cannot work.
func refuse(env *Env, format string, a ...any) error {
	fmt.Fprintf(env.Stderr, "bebpo-gateway migrate: refused: "+format+"\n", a...)
	return errUsageShown
}

func printStoreMove(w io.Writer, rep storeMoveReport, srcDir string) {
	fmt.Fprintf(w, "store moved from SQLite (%s) to PostgreSQL in %.1fs\n\n", rep.Source, rep.Seconds)
	fmt.Fprintf(w, "%-16s %10s %10s\n", "table", "sqlite", "postgres")
	for _, t := range rep.Tables {
		mark := ""
		if t.Source != t.Target || t.SourceSHA256 != t.TargetSHA256 {
			mark = "  DIFFERS"
		}
		fmt.Fprintf(w, "%-16s %10d %10d%s\n", t.Name, t.Source, t.Target, mark)
	}
	fmt.Fprintf(w, "\njournal head  sqlite    #%d %s\n", rep.SourceJournal.HeadSeq, rep.SourceJournal.HeadHash)
	fmt.Fprintf(w, "              postgres  #%d %s\n", rep.TargetJournal.HeadSeq, rep.TargetJournal.HeadHash)
	fmt.Fprintf(w, "both journals verified as 'journal verify' does (%d and %d entries); every row read back with the same SHA-256\n",
		rep.SourceJournal.Entries, rep.TargetJournal.Entries)
	if rep.Blobs.Copied {
		fmt.Fprintf(w, "documents: %d copied to the %s blob store (%d bytes), each re-hashed\n", rep.Blobs.Count, rep.BlobsKind, rep.Blobs.Bytes)
	} else {
		fmt.Fprintf(w, "documents: stay in the folder %s (blobs.kind folder): nothing to move\n", rep.BlobsFolder)
	}
	if len(rep.LeftBehind) > 0 {
		fmt.Fprintf(w, "not part of the store, left in %s: %s\n", srcDir, strings.Join(rep.LeftBehind, ", "))
	}
	if rep.MovedAside != "" {
		fmt.Fprintf(w, "the SQLite store was moved aside to %s (to go back: move it back, set store.kind: sqlite)\n", rep.MovedAside)
	}
	if rep.Match {
		fmt.Fprintln(w, "verdict: OK, counts and journal heads match; start the gateway with this configuration")
	} else {
		fmt.Fprintln(w, "verdict: MISMATCH, the copy differs from its source; do not start a gateway on it")
	}
}

// moveAside moves the SQLite store of dir (database, its WAL files and
// journal head) into a new directory of dir named after the move and
// returns it. The database goes first: once it is gone, dir holds no
// SQLite store any more.
func moveAside(dir string, now time.Time) (string, error) {
	to := filepath.Join(dir, "sqlite-moved-to-postgres-"+now.UTC().Format("20060102T150405Z"))
	if err := os.Mkdir(to, 0o700); err != nil {
		return "", err
	}
	head := sqlite.FileName + sqlite.HeadSuffix
	for _, name := range []string{sqlite.FileName, sqlite.FileName + "-wal", sqlite.FileName + "-shm", head, head + ".lock"} {
		if err := os.Rename(filepath.Join(dir, name), filepath.Join(to, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return to, err
		}
	}
	if err := durable.SyncDir(to); err != nil {
		return to, err
	}
	return to, durable.SyncDir(dir)
}
