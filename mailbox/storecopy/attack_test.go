package storecopy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres/pgtest"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// rawSQLite edits a closed site's database as someone with the sqlite3
// shell would, and opens the store again.
func (s *site) rawSQLite(t *testing.T, stmts ...string) {
	t.Helper()
	s.st.Close()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	if s.st, err = sqlite.Open(ctx, filepath.Join(s.dir, sqlite.FileName), sqlite.Options{MustExist: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.st.Close() })
}

// targetRows counts the rows of the store's tables in the target and
// returns its journal head row.
func targetRows(t *testing.T, dsn string) (int64, int64) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows, head int64
	for _, tb := range append(tables, table{name: "journal_anchor"}) {
		var n int64
		if err := conn.QueryRow(ctx, "SELECT COUNT(*) FROM "+tb.name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		rows += n
	}
	if err := conn.QueryRow(ctx, `SELECT seq FROM journal_head`).Scan(&head); err != nil {
		t.Fatal(err)
	}
	return rows, head
}

// TestTamperedSourceJournalRefusedBeforeWriting: one edited journal row
// stops the move before the target is touched (not even migrated), and
// the error names the entry.
func TestTamperedSourceJournalRefusedBeforeWriting(t *testing.T) {
	s := filledSite(t, 5, 3, 120)
	s.rawSQLite(t, `DROP TRIGGER journal_no_update`, `UPDATE journal SET detail = '{"by":"someone else"}' WHERE seq = 77`)
	dsn, head := pgtest.DSN(t), headPath(t)
	_, err := SQLiteToPostgres(ctx, s.st, dsn, Options{HeadPath: head})
	if !errors.Is(err, mailbox.ErrJournalBroken) || !strings.Contains(err.Error(), "entry 77") {
		t.Fatalf("copy of a tampered journal: %v, want ErrJournalBroken at entry 77", err)
	}
	if v, err := postgres.Version(ctx, dsn); err != nil || v != 0 {
		t.Fatalf("target schema version %d %v: something was written", v, err)
	}
	if _, err := os.Stat(head); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("head file written: %v", err)
	}
}

// TestNonEmptyTargetRefused: a second copy into a filled target is
// refused and changes nothing there, also with the head file gone.
func TestNonEmptyTargetRefused(t *testing.T) {
	s := filledSite(t, 5, 3, 60)
	dsn, head := pgtest.DSN(t), headPath(t)
	s.copyTo(t, dsn, head)
	rows, seq := targetRows(t, dsn)
	if _, err := SQLiteToPostgres(ctx, s.st, dsn, Options{HeadPath: head}); !errors.Is(err, ErrTargetNotEmpty) {
		t.Fatalf("second copy with the head file there: %v, want ErrTargetNotEmpty", err)
	}
	other := headPath(t)
	_, err := SQLiteToPostgres(ctx, s.st, dsn, Options{HeadPath: other})
	if !errors.Is(err, ErrTargetNotEmpty) || !strings.Contains(err.Error(), "messages holds") {
		t.Fatalf("second copy into the filled database: %v, want ErrTargetNotEmpty naming messages", err)
	}
	if r, q := targetRows(t, dsn); r != rows || q != seq {
		t.Fatalf("refused copy changed the target: %d rows head %d, was %d %d", r, q, rows, seq)
	}
	if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("refused copy wrote a head file: %v", err)
	}
	// One journal entry is enough to refuse.
	s2 := newSite(t)
	dsn2 := pgtest.DSN(t)
	pg, err := postgres.Open(ctx, dsn2, postgres.Options{HeadPath: headPath(t), Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pg.Append(ctx, mailbox.EventInput{Kind: "gateway_started"}); err != nil {
		t.Fatal(err)
	}
	pg.Close()
	if _, err := SQLiteToPostgres(ctx, s2.st, dsn2, Options{HeadPath: headPath(t)}); !errors.Is(err, ErrTargetNotEmpty) {
		t.Fatalf("copy into a database with a journal: %v, want ErrTargetNotEmpty", err)
	}
	// So is a counted read, or a gateway that only opened the database.
	dsn3 := pgtest.DSN(t)
	pg, err = postgres.Open(ctx, dsn3, postgres.Options{HeadPath: headPath(t), Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pg.BeginFetch(ctx, "safe-behoerde", "govapp_1", t0); err != nil {
		t.Fatal(err)
	}
	pg.Close()
	if _, err := SQLiteToPostgres(ctx, s2.st, dsn3, Options{HeadPath: headPath(t)}); !errors.Is(err, ErrTargetNotEmpty) || !strings.Contains(err.Error(), "fetch_attempts holds 1 rows") {
		t.Fatalf("copy into a database with a counted read: %v, want ErrTargetNotEmpty naming fetch_attempts", err)
	}
	dsn4 := pgtest.DSN(t)
	pg, err = postgres.Open(ctx, dsn4, postgres.Options{HeadPath: headPath(t), Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	pg.Close()
	if _, err := SQLiteToPostgres(ctx, s2.st, dsn4, Options{HeadPath: headPath(t)}); !errors.Is(err, ErrTargetNotEmpty) || !strings.Contains(err.Error(), "journal_anchor holds 1 rows") {
		t.Fatalf("copy into a database a gateway opened: %v, want ErrTargetNotEmpty naming journal_anchor", err)
	}
}

// TestCancelledCopyLeavesTargetEmpty: a copy stopped in the middle of the
// journal leaves no row and no head file behind; a new run then copies
// everything.
func TestCancelledCopyLeavesTargetEmpty(t *testing.T) {
	s := filledSite(t, 10, 5, 300)
	dsn, head := pgtest.DSN(t), headPath(t)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var seen string
	_, err := SQLiteToPostgres(cctx, s.st, dsn, Options{HeadPath: head, ProgressEvery: 50, Progress: func(table string, n int64) {
		if table == "journal" && n == 100 {
			seen = fmt.Sprintf("%s %d", table, n)
			cancel()
		}
	}})
	if err == nil || seen == "" {
		t.Fatalf("cancelled copy: %v (progress %q)", err, seen)
	}
	if rows, seq := targetRows(t, dsn); rows != 0 || seq != 0 {
		t.Fatalf("cancelled copy left %d rows, head %d", rows, seq)
	}
	if _, err := os.Stat(head); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("cancelled copy wrote the head file: %v", err)
	}
	rep, err := SQLiteToPostgres(ctx, s.st, dsn, Options{HeadPath: head})
	if err != nil || !rep.Match {
		t.Fatalf("copy after the cancelled one: %+v %v", rep, err)
	}
}

// TestCorruptBlobRefused: a document whose file no longer has its hash
// stops the move before any row is committed.
func TestCorruptBlobRefused(t *testing.T) {
	s := filledSite(t, 3, 0, 10)
	m, err := s.st.Get(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	p := s.blobs.Path(m.Documents[0].SHA256)
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("changed on disk"), 0o600); err != nil {
		t.Fatal(err)
	}
	dsn := pgtest.DSN(t)
	dst, err := mailbox.OpenBlobs(filepath.Join(t.TempDir(), "blobs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = SQLiteToPostgres(ctx, s.st, dsn, Options{HeadPath: headPath(t), SourceBlobs: s.blobs, TargetBlobs: dst})
	if !errors.Is(err, mailbox.ErrBlobCorrupt) {
		t.Fatalf("copy with a corrupt blob: %v, want ErrBlobCorrupt", err)
	}
	if rows, seq := targetRows(t, dsn); rows != 0 || seq != 0 {
		t.Fatalf("refused copy left %d rows, head %d", rows, seq)
	}
}

// TestUnknownSourceTableRefused: a table this program does not know
// (a newer gateway's) is not silently left behind.
func TestUnknownSourceTableRefused(t *testing.T) {
	s := filledSite(t, 2, 0, 5)
	s.rawSQLite(t, `CREATE TABLE later_feature (id INTEGER PRIMARY KEY)`)
	if _, err := SQLiteToPostgres(ctx, s.st, pgtest.DSN(t), Options{HeadPath: headPath(t)}); !errors.Is(err, ErrSchema) {
		t.Fatalf("copy with an unknown table: %v, want ErrSchema", err)
	}
}

// TestCheckFindsAChangedRow: the read-back after the commit notices a
// single changed column, a missing row and a moved journal head, each
// named; counts alone would miss the first.
func TestCheckFindsAChangedRow(t *testing.T) {
	s := filledSite(t, 5, 3, 40)
	dsn, head := pgtest.DSN(t), headPath(t)
	rep := s.copyTo(t, dsn, head)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, tc := range []struct{ stmt, want string }{
		{`UPDATE messages SET subject = 'Klage 2' WHERE id = 3`, "messages (8 rows, 8 copied)"},
		{`DELETE FROM fetch_attempts`, "fetch_attempts (1 rows, 0 copied)"},
		{`UPDATE documents SET purged_at = 1 WHERE message_id = 1`, "documents"},
	} {
		if _, err := conn.Exec(ctx, tc.stmt); err != nil {
			t.Fatal(err)
		}
		again := Report{Tables: append([]Table(nil), rep.Tables...), Source: rep.Source}
		err := check(ctx, dsn, &again, Options{HeadPath: head, Now: time.Now})
		if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), tc.want) || again.Match {
			t.Fatalf("after %s: %v, want ErrMismatch naming %s", tc.stmt, err, tc.want)
		}
	}
}
