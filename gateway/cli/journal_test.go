package cli

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// Entries edited or cut off the end fail verification, naming the first
// bad entry; the journal's triggers refuse both until they are dropped.
func TestJournalVerifyDetectsTampering(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trigger string
		change  string
		want    []string
	}{
		{"tampering", `DROP TRIGGER journal_no_update`, `UPDATE journal SET detail = '{"forged":"1"}' WHERE seq = 3`, []string{"journal broken at entry 3"}},
		{"truncation", `DROP TRIGGER journal_no_delete`, `DELETE FROM journal WHERE seq > 3`, []string{"journal broken at entry 4", "truncated"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, st, _ := queueFixture(t)
			st.Close()
			db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.FileName))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(tc.change); err == nil {
				t.Fatal("journal accepted the change")
			}
			for _, q := range []string{tc.trigger, tc.change} {
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			code, out, errs := runCLI(t, erika, "journal", "verify", "--data", dir)
			if code != ExitFail || out != "" {
				t.Fatalf("exit %d stdout %q stderr %q", code, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr %q lacks %q", errs, w)
				}
			}
		})
	}
}

// A lost head file makes verification fail (truncation could no longer be
// ruled out); after checking the journal against the logged heads, an
// operator makes it the reference again.
func TestJournalReanchorAfterLostHead(t *testing.T) {
	dir, st, _ := queueFixture(t)
	head := st.HeadPath()
	st.Close()
	if err := os.Remove(head); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(t, erika, "journal", "verify", "--data", dir)
	if code != ExitFail || !strings.Contains(errs, "head missing") {
		t.Fatalf("without head: exit %d stderr %q", code, errs)
	}
	if code, _, errs := runCLI(t, erika, "journal", "reanchor", "--data", dir); code != ExitUsage || !strings.Contains(errs, "--reason") {
		t.Fatalf("reanchor without reason: exit %d %q", code, errs)
	}
	code, out, errs := runCLI(t, erika, "journal", "reanchor", "--data", dir, "--reason", "Prüfung gegen Protokoll 2026-12-03")
	if code != ExitOK || !strings.Contains(out, "anchored at #5") {
		t.Fatalf("reanchor: exit %d %q %q", code, out, errs)
	}
	if code, out, errs := runCLI(t, erika, "journal", "verify", "--data", dir); code != ExitOK || !strings.Contains(out, "journal intact: 6 entries") {
		t.Fatalf("after reanchor: exit %d %q %q", code, out, errs)
	}
}
