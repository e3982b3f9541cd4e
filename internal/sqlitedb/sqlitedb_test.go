package sqlitedb_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/sqlitedb"
)

// TestDatabaseIsPrivateAndDurable: a new database file is readable by its
// owner only and runs in WAL mode with synchronous=FULL on every
// connection; a missing one is refused with MustExist.
func TestDatabaseIsPrivateAndDurable(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "x.db")
	if _, err := sqlitedb.Open(ctx, p, sqlitedb.Options{MustExist: true}); !errors.Is(err, sqlitedb.ErrNoDatabase) {
		t.Fatalf("MustExist on a missing file: %v", err)
	}
	d, err := sqlitedb.Open(ctx, p, sqlitedb.Options{Readers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("database mode %v, %v", fi.Mode(), err)
	}
	for name, db := range map[string]*sql.DB{"writer": d.W, "reader": d.R} {
		var sync int
		if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
			t.Errorf("%s: synchronous %d, %v; want 2 (FULL)", name, sync, err)
		}
	}
	if _, err := d.R.ExecContext(ctx, "CREATE TABLE y (a)"); err == nil {
		t.Error("a reader connection wrote")
	}
}

func TestUniqueAndTimes(t *testing.T) {
	ctx := context.Background()
	d, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "x.db"), sqlitedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	err = d.WriteTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "CREATE TABLE k (id INTEGER PRIMARY KEY, u TEXT UNIQUE); INSERT INTO k VALUES (1, 'a')")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"INSERT INTO k VALUES (1, 'b')", "INSERT INTO k VALUES (2, 'a')"} {
		if _, err := d.W.ExecContext(ctx, q); !sqlitedb.IsUnique(err) {
			t.Errorf("%s: %v is not a uniqueness violation", q, err)
		}
	}
	at := time.Date(2026, 12, 3, 9, 0, 0, 1, time.UTC)
	if got := sqlitedb.Time(sqlitedb.NS(at)); !got.Equal(at) || !sqlitedb.Time(sqlitedb.NS(time.Time{})).IsZero() {
		t.Errorf("round trip %v", got)
	}
}
