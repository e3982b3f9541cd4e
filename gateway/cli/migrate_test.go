package cli

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/demo"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres/pgtest"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// sqliteSite is the demo installation on its SQLite store, filled through
// the mailbox API with msgs submitted messages (every third held by an
// operator) and a journal of at least entries entries; its configuration
// then names the PostgreSQL database dsn ("": a new one) as the store, as
// an operator sets it before the move. It returns the configuration file,
// data_dir and the database.
func sqliteSite(t *testing.T, msgs, entries int, dsn string) (string, string, string) {
	t.Helper()
	l := demo.NewTestDir(t, "127.0.0.1:1", "127.0.0.1:0")
	cfg, err := config.Load(l.Config())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, sqlite.FileName), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := mailbox.OpenBlobs(filepath.Join(cfg.DataDir, "blobs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range msgs {
		m, err := mailbox.Submit(ctx, st, blobs, mailbox.NewOutgoing{Mailbox: "stadt", Recipient: "DE.Justiz.ag", Subject: fmt.Sprintf("Antrag %d", i), Now: queueT0},
			[]mailbox.Part{{Name: "antrag.pdf", ContentType: "application/pdf", Body: strings.NewReader(fmt.Sprintf("%%PDF-1.7 antrag %d", i))}})
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := st.Operate(ctx, mailbox.OperatorAction{ID: m.ID, Op: mailbox.OpHold, Actor: "erika", Reason: "Rückfrage", Now: queueT0}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for {
		evs, err := st.Events(ctx, int64(entries)-1, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) > 0 {
			break
		}
		if _, err := st.Append(ctx, mailbox.EventInput{Kind: "config_reloaded", Detail: map[string]string{"by": "SIGHUP"}}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	if dsn == "" {
		dsn = pgtest.DSN(t)
	}
	dsnFile := filepath.Join(t.TempDir(), "pg.dsn")
	if err := os.WriteFile(dsnFile, []byte(dsn+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(l.Config(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("store:\n  kind: postgres\n  dsn:\n    file: " + dsnFile + "\n"); err != nil {
		t.Fatal(err)
	}
	return l.Config(), cfg.DataDir, dsn
}

var headLine = regexp.MustCompile(`(sqlite|postgres) +(#\d+ [0-9a-f]{64})`)

// TestMigrateSQLiteToPostgres moves a site and checks the outcome with
// the commands an operator uses afterwards on the PostgreSQL store.
func TestMigrateSQLiteToPostgres(t *testing.T) {
	cfg, data, _ := sqliteSite(t, 30, 300, "")
	code, out, errs := runCLI(t, nil, "migrate", "--config", cfg, "--from", "sqlite", "--to", "postgres")
	if code != ExitOK || !strings.Contains(out, "verdict: OK") {
		t.Fatalf("migrate: exit %d\n%s%s", code, out, errs)
	}
	heads := headLine.FindAllStringSubmatch(out, -1)
	if len(heads) != 2 || heads[0][2] != heads[1][2] {
		t.Fatalf("journal heads in the report: %q\n%s", heads, out)
	}
	for _, want := range []string{"messages                 30         30", "documents: stay in the folder " + filepath.Join(data, "blobs"), "not part of the store, left in"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	moved := regexp.MustCompile(`moved aside to (\S+)`).FindStringSubmatch(out)
	if _, err := os.Stat(filepath.Join(data, sqlite.FileName)); !errors.Is(err, os.ErrNotExist) || moved == nil {
		t.Fatalf("the SQLite store is still in data_dir (%v):\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(moved[1], sqlite.FileName)); err != nil {
		t.Fatalf("the SQLite store was not moved aside: %v", err)
	}
	checkCLI(t, erika, cliCase{args: []string{"journal", "verify", "--data", data}, code: ExitFail, err: "give --config FILE"})
	code, vout, errs := runCLI(t, nil, "journal", "verify", "--config", cfg)
	if code != ExitOK || !strings.Contains(vout, "head "+heads[0][2]) {
		t.Fatalf("journal verify on PostgreSQL: exit %d, want head %s\n%s%s", code, heads[0][2], vout, errs)
	}
	code, lout, errs := runCLI(t, erika, "messages", "list", "--config", cfg, "--data", data, "--limit", "100")
	if code != ExitOK || strings.Count(lout, "held(queued)") != 10 || strings.Count(lout, " queued ") != 20 {
		t.Fatalf("messages list on PostgreSQL: exit %d\n%s%s", code, lout, errs)
	}
}

// TestMigrateJSON: --json carries both sides of every table and both
// journals.
func TestMigrateJSON(t *testing.T) {
	cfg, _, _ := sqliteSite(t, 3, 20, "")
	code, out, errs := runCLI(t, nil, "migrate", "--config", cfg, "--from", "sqlite", "--to", "postgres", "--json")
	if code != ExitOK {
		t.Fatalf("migrate --json: exit %d\n%s%s", code, out, errs)
	}
	var rep storeMoveReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !rep.Match || len(rep.Tables) != 7 || rep.Tables[0].Name != "messages" || rep.Tables[0].Target != 3 ||
		rep.SourceJournal.HeadHash != rep.TargetJournal.HeadHash || rep.SourceJournal.Entries < 20 || rep.Blobs.Copied {
		t.Fatalf("report: %+v", rep)
	}
}

// TestMigrateWithPostgresBlobs: with blobs.kind postgres the documents
// move too, and the gateway's blob store on the copy holds each.
func TestMigrateWithPostgresBlobs(t *testing.T) {
	cfg, _, _ := sqliteSite(t, 4, 20, "")
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("blobs:\n  kind: postgres\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	checkCLI(t, nil, cliCase{args: []string{"migrate", "--config", cfg, "--from", "sqlite", "--to", "postgres"}, code: ExitOK,
		out: "documents: 4 copied to the postgres blob store"})
	c, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, getenv := context.Background(), func(string) string { return "" }
	st, err := gateway.OpenStore(ctx, c, time.Now, getenv)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	blobs, closeBlobs, err := gateway.OpenBlobStore(ctx, c, time.Now, getenv)
	if err != nil {
		t.Fatal(err)
	}
	defer closeBlobs()
	if r, err := mailbox.Check(ctx, st, blobs); err != nil || len(r.Problems) > 0 || r.Messages != 4 {
		t.Fatalf("check of the moved site: %+v %v", r, err)
	}
}

// TestMigrateRefusals: a running gateway, a filled database and a
// tampered journal are refused, and nothing is written to the database.
func TestMigrateRefusals(t *testing.T) {
	move := func(cfg string) []string {
		return []string{"migrate", "--config", cfg, "--from", "sqlite", "--to", "postgres"}
	}

	t.Run("gateway running", func(t *testing.T) {
		cfg, data, dsn := sqliteSite(t, 2, 10, "")
		lock, err := gateway.LockDataDir(data) // what the daemon holds while it runs
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Close()
		checkCLI(t, nil, cliCase{args: move(cfg), code: ExitUsage, err: "refused: a gateway is running on " + data})
		if v, err := postgres.Version(context.Background(), dsn); err != nil || v != 0 {
			t.Fatalf("database touched: version %d %v", v, err)
		}
	})

	t.Run("target not empty", func(t *testing.T) {
		cfg, _, dsn := sqliteSite(t, 2, 10, "")
		checkCLI(t, nil, cliCase{args: move(cfg), code: ExitOK, out: "verdict: OK"})
		checkCLI(t, nil, cliCase{args: move(cfg), code: ExitUsage, err: "refused: no SQLite store to move"})
		other, data, _ := sqliteSite(t, 3, 10, dsn) // a second site onto the same database
		checkCLI(t, nil, cliCase{args: move(other), code: ExitUsage, err: "refused: target store not empty: messages holds 2 rows"})
		if _, err := os.Stat(filepath.Join(data, sqlite.FileName)); err != nil {
			t.Fatalf("refused move touched the source: %v", err)
		}
	})

	t.Run("head file of another database", func(t *testing.T) {
		cfg, data, dsn := sqliteSite(t, 2, 10, "")
		head := filepath.Join(data, gateway.PostgresHeadFile)
		if err := mailbox.WriteJournalHead(nil, head, mailbox.JournalHead{Seq: 9, Hash: strings.Repeat("ab", 32)}); err != nil {
			t.Fatal(err)
		}
		checkCLI(t, nil, cliCase{args: move(cfg), code: ExitUsage, err: "refused: target store not empty: " + head + " exists"})
		if v, err := postgres.Version(context.Background(), dsn); err != nil || v != 0 {
			t.Fatalf("database touched: version %d %v", v, err)
		}
	})

	t.Run("tampered journal", func(t *testing.T) {
		cfg, data, dsn := sqliteSite(t, 2, 120, "")
		db, err := sql.Open("sqlite", "file:"+filepath.Join(data, sqlite.FileName))
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{`DROP TRIGGER journal_no_update`, `UPDATE journal SET detail = '{"by":"nobody"}' WHERE seq = 77`} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()
		checkCLI(t, nil, cliCase{args: move(cfg), code: ExitFail, err: "the source journal is broken at entry 77: entry hash does not match its content (76 entries before it are intact); nothing was written"})
		if v, err := postgres.Version(context.Background(), dsn); err != nil || v != 0 {
			t.Fatalf("database touched: version %d %v", v, err)
		}
	})

	t.Run("usage", func(t *testing.T) {
		cfg, _, _ := sqliteSite(t, 1, 1, "")
		runCLICases(t, nil, []cliCase{
			{name: "other direction", args: []string{"migrate", "--config", cfg, "--from", "postgres", "--to", "sqlite"}, code: ExitUsage, err: "only --from sqlite --to postgres"},
			{name: "with status", args: append(move(cfg), "--status"), code: ExitUsage, err: "--status does not go with"},
			{name: "from-data alone", args: []string{"migrate", "--config", cfg, "--from-data", t.TempDir()}, code: ExitUsage, err: "--from-data needs"},
			{name: "no SQLite store", args: append(move(cfg), "--from-data", t.TempDir()), code: ExitUsage, err: "refused: no SQLite store to move"},
		})
		l := demo.NewTestDir(t, "127.0.0.1:1", "127.0.0.1:0") // store.kind sqlite: no target named
		checkCLI(t, nil, cliCase{args: move(l.Config()), code: ExitUsage, err: "set store.kind: postgres and store.dsn"})
	})
}
