package postgres

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres/pgtest"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var ctx = context.Background()

var (
	dsnMu sync.Mutex
	dsns  = map[string]string{}
)

// dsnFor returns the database that stands for dir: the suite reopens a
// store by its directory.
func dsnFor(t *testing.T, dir string) string {
	t.Helper()
	dsnMu.Lock()
	defer dsnMu.Unlock()
	if d, ok := dsns[dir]; ok {
		return d
	}
	d := pgtest.DSN(t)
	dsns[dir] = d
	return d
}

var openTest = storetest.OpenerOf(func(t *testing.T, dir string) (*Store, error) {
	return Open(ctx, dsnFor(t, dir), Options{HeadPath: filepath.Join(dir, "journal-head"), Migrate: true})
})

func TestConformance(t *testing.T) {
	storetest.Run(t, openTest)
}

func TestSchemaVersion(t *testing.T) {
	dsn := pgtest.DSN(t)
	head := filepath.Join(t.TempDir(), "journal-head")
	if _, err := Open(ctx, dsn, Options{HeadPath: head}); !errors.Is(err, ErrSchemaBehind) {
		t.Fatalf("Open of an empty database without Migrate: %v, want ErrSchemaBehind", err)
	}
	r, err := MigrateReport(ctx, dsn)
	if err != nil || r.From != 0 || r.To != Latest() {
		t.Fatalf("migrate: %+v %v, want 0 → %d", r, err, Latest())
	}
	if r, err := MigrateReport(ctx, dsn); err != nil || r.From != Latest() || r.To != Latest() {
		t.Fatalf("second migrate: %+v %v", r, err)
	}
	s, err := Open(ctx, dsn, Options{HeadPath: head})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != Latest() {
		t.Fatalf("schema version %d %v", v, err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO `+versionTable+` (version_id, is_applied) VALUES ($1, true)`, Latest()+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(ctx, dsn, Options{HeadPath: head}); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("newer schema: %v, want ErrSchemaTooNew", err)
	}
	if err := Migrate(ctx, dsn); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("migrate of a newer schema: %v, want ErrSchemaTooNew", err)
	}
}
