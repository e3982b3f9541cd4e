package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/demo"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// postgresNode is the demo configuration on a new PostgreSQL database,
// migrated, with one queued message; it returns the configuration file
// and its data_dir.
func postgresNode(t *testing.T) (string, string) {
	t.Helper()
	l := demo.NewTestDir(t, "127.0.0.1:1", "127.0.0.1:0")
	dsnFile := filepath.Join(t.TempDir(), "pg.dsn")
	if err := os.WriteFile(dsnFile, []byte(pgtest.DSN(t)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(l.Config(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("store:\n  kind: postgres\n  dsn:\n    file: " + dsnFile + "\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if code, out, errs := runCLI(t, nil, "migrate", "--config", l.Config()); code != ExitOK {
		t.Fatalf("migrate: exit %d\n%s%s", code, out, errs)
	}
	cfg, err := config.Load(l.Config())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := gateway.OpenStore(ctx, cfg, time.Now, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	blobs, err := mailbox.OpenBlobs(filepath.Join(cfg.DataDir, "blobs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mailbox.Submit(ctx, st, blobs, mailbox.NewOutgoing{Mailbox: "stadt", Recipient: "DE.Justiz.ag", Subject: "Antrag auf Erzwingungshaft", Now: queueT0},
		[]mailbox.Part{{Name: "antrag.pdf", ContentType: "application/pdf", Body: strings.NewReader("%PDF-1.7 antrag")}}); err != nil {
		t.Fatal(err)
	}
	return l.Config(), cfg.DataDir
}

// The commands that open the store directly work on a gateway whose
// store is PostgreSQL through --config, refuse a bare --data with the way
// out, and backup refuses with the pointer to pg_dump.
func TestDataCommandsOnPostgres(t *testing.T) {
	cfg, data := postgresNode(t)
	runCLICases(t, erika, []cliCase{
		{name: "messages list", args: []string{"messages", "list", "--data", data, "--config", cfg}, code: ExitOK, out: "queued"},
		{name: "messages list, data dir only", args: []string{"messages", "list", "--data", data}, code: ExitFail, err: "store is PostgreSQL: give --config FILE"},
		{name: "messages list, other data dir", args: []string{"messages", "list", "--data", t.TempDir(), "--config", cfg}, code: ExitFail, err: "is not the configuration's data_dir"},
		{name: "messages hold", args: []string{"messages", "hold", "--data", data, "--config", cfg, "--reason", "Rückfrage", "1"}, code: ExitOK, out: "held"},
		{name: "journal verify", args: []string{"journal", "verify", "--config", cfg}, code: ExitOK, out: "journal intact"},
		{name: "journal verify, data dir only", args: []string{"journal", "verify", "--data", data}, code: ExitFail, err: "give --config FILE"},
		{name: "journal reanchor", args: []string{"journal", "reanchor", "--config", cfg, "--reason", "Kopfdatei verloren"}, code: ExitOK, out: "journal head anchored"},
		{name: "backup", args: []string{"backup", "--config", cfg, t.TempDir()}, code: ExitFail, err: "pg_dump"},
		{name: "backup of the data dir", args: []string{"backup", "--data", data, t.TempDir()}, code: ExitFail, err: "pg_dump"},
	})
}
