package pgblobs_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/blobtest"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/pgblobs"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// harness runs the conformance suite on a database of its own per test; a
// crash drops every connection of that database, as the server does for
// a killed process, so what was not committed is rolled back.
func harness() blobtest.Harness {
	var dsn string
	return blobtest.Harness{
		New: func(t *testing.T) func(int64) mailbox.BlobStore {
			dsn = pgtest.DSN(t)
			return func(max int64) mailbox.BlobStore {
				s, err := pgblobs.Open(context.Background(), dsn, pgblobs.Options{Migrate: true, MaxBytes: max})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(s.Close)
				return s
			}
		},
		Crash: func(mailbox.BlobStore) { terminate(dsn) },
	}
}

func terminate(dsn string) {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		panic(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		panic(err)
	}
}

func TestBlobStoreConformancePostgres(t *testing.T) { blobtest.Run(t, harness()) }

// TestSchemaRefused: a blob schema behind the program is refused unless
// migrated, one ahead always.
func TestSchemaRefused(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	if _, err := pgblobs.Open(ctx, dsn, pgblobs.Options{}); !errors.Is(err, pgblobs.ErrSchemaBehind) {
		t.Fatalf("Open of an empty database = %v, want ErrSchemaBehind", err)
	}
	s, err := pgblobs.Open(ctx, dsn, pgblobs.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `INSERT INTO blob_schema_migrations (version_id, is_applied) VALUES (999, true)`); err != nil {
		t.Fatal(err)
	}
	if _, err := pgblobs.Open(ctx, dsn, pgblobs.Options{Migrate: true}); !errors.Is(err, pgblobs.ErrSchemaTooNew) {
		t.Fatalf("Open of a newer schema = %v, want ErrSchemaTooNew", err)
	}
}
