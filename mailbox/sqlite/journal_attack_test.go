package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/storetest"
)

func TestJournalAttacks(t *testing.T) {
	storetest.RunJournalAttacks(t, openTest, tamper)
}

// tamper edits the database as someone with the sqlite3 shell would: the
// append-only triggers dropped first, the cached head fixed up after.
func tamper(t *testing.T, dir string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stmts = append([]string{`DROP TRIGGER journal_no_update`, `DROP TRIGGER journal_no_delete`}, stmts...)
	stmts = append(stmts, `UPDATE journal_head SET seq = (SELECT MAX(seq) FROM journal), hash = (SELECT hash FROM journal WHERE seq = (SELECT MAX(seq) FROM journal))`)
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
