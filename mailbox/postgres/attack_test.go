package postgres

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/storetest"
)

func TestJournalAttacks(t *testing.T) {
	storetest.RunJournalAttacks(t, openTest, tamper)
}

// tamper edits the database as its owner could with psql: the append-only
// triggers disabled, the cached head fixed up after.
func tamper(t *testing.T, dir string, stmts ...string) {
	t.Helper()
	c, err := pgx.Connect(ctx, dsnFor(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	stmts = append([]string{`ALTER TABLE journal DISABLE TRIGGER USER`}, stmts...)
	stmts = append(stmts, `UPDATE journal_head SET seq = (SELECT MAX(seq) FROM journal), hash = (SELECT hash FROM journal WHERE seq = (SELECT MAX(seq) FROM journal))`)
	for _, q := range stmts {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
