package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/storetest"
)

// journalWith makes a database whose journal holds n entries, closed.
func journalWith(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if _, err := s.Append(ctx, mailbox.EventInput{At: storetest.T0, MessageID: int64(i), Kind: "note", Detail: map[string]string{"n": fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// tamper edits the database as someone with the sqlite3 shell would: the
// append-only triggers dropped first, the cached head fixed up after.
func tamper(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
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

func verify(t *testing.T, path string) (mailbox.JournalReport, error) {
	t.Helper()
	s, err := Open(ctx, path, Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return mailbox.VerifyJournal(ctx, s)
}

// TestJournalTailTruncationDetected: deleting the last entries (and
// fixing the cached head) passed `journal verify`, because nothing
// remembered the head. The head file beside the database does.
func TestJournalTailTruncationDetected(t *testing.T) {
	path := journalWith(t, 10)
	tamper(t, path, `DELETE FROM journal WHERE seq > 7`)
	r, err := verify(t, path)
	if !errors.Is(err, mailbox.ErrJournalTruncated) || !errors.Is(err, mailbox.ErrJournalBroken) || r.BrokenAt != 8 || r.Entries != 7 || r.Anchor.Seq != 10 {
		t.Fatalf("after cutting 3 entries: %+v %v, want truncation at entry 8", r, err)
	}
	if !strings.Contains(r.Reason, "ends at entry 7") || !strings.Contains(r.Reason, "anchored head is entry 10") {
		t.Fatalf("reason %q", r.Reason)
	}
}

// TestJournalTruncationNotMaskedByNewEntries: after the tail was cut, the
// gateway goes on appending past the old head; the head file is never
// moved over the gap, and the check still fails.
func TestJournalTruncationNotMaskedByNewEntries(t *testing.T) {
	path := journalWith(t, 10)
	tamper(t, path, `DELETE FROM journal WHERE seq > 7`)
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !errors.Is(s.AnchorErr(), mailbox.ErrJournalTruncated) {
		t.Fatalf("AnchorErr at Open: %v, want ErrJournalTruncated", s.AnchorErr())
	}
	for i := 0; i < 6; i++ {
		if _, err := s.Append(ctx, mailbox.EventInput{At: storetest.T0, Kind: "note"}); err != nil {
			t.Fatalf("append after the cut: %v", err) // the gateway keeps working
		}
	}
	if !errors.Is(s.AnchorErr(), mailbox.ErrJournalBroken) {
		t.Fatalf("AnchorErr %v, want ErrJournalBroken", s.AnchorErr())
	}
	r, err := mailbox.VerifyJournal(ctx, s)
	if !errors.Is(err, mailbox.ErrJournalBroken) || r.BrokenAt != 10 || r.Anchor.Seq != 10 {
		t.Fatalf("after cutting and appending: %+v %v, want broken at the anchored entry 10", r, err)
	}
}

// TestJournalReorderDetected: two entries swapped, each keeping its own
// hash, are found at the first of them.
func TestJournalReorderDetected(t *testing.T) {
	path := journalWith(t, 6)
	tamper(t, path, `UPDATE journal SET seq = -seq WHERE seq IN (3, 4)`, `UPDATE journal SET seq = 4 WHERE seq = -3`, `UPDATE journal SET seq = 3 WHERE seq = -4`)
	if r, err := verify(t, path); !errors.Is(err, mailbox.ErrJournalBroken) || r.BrokenAt != 3 || errors.Is(err, mailbox.ErrJournalTruncated) {
		t.Fatalf("swapped entries: %+v %v, want broken at 3", r, err)
	}
}

// TestJournalEditDetected: a changed detail is found at its entry.
func TestJournalEditDetected(t *testing.T) {
	path := journalWith(t, 6)
	tamper(t, path, `UPDATE journal SET detail = '{"n":"99"}' WHERE seq = 5`)
	if r, err := verify(t, path); !errors.Is(err, mailbox.ErrJournalBroken) || r.BrokenAt != 5 || r.Reason != "entry hash does not match its content" {
		t.Fatalf("edited entry: %+v %v, want broken at 5", r, err)
	}
}

// TestJournalHeadBehindAfterCrash: a process that stops between a commit
// and its head write leaves the file behind the journal. The check reports
// it without failing, and the next start anchors the head again.
func TestJournalHeadBehindAfterCrash(t *testing.T) {
	path := journalWith(t, 5)
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	evs, _ := s.Events(ctx, 0, 10)
	if err := mailbox.WriteJournalHead(nil, s.HeadPath(), mailbox.JournalHead{Seq: 3, Hash: evs[2].Hash}); err != nil {
		t.Fatal(err)
	}
	if r, err := mailbox.VerifyJournal(ctx, s); err != nil || r.AnchorBehind != 2 || r.Entries != 5 {
		t.Fatalf("head behind: %+v %v", r, err)
	}
	s.Close()
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if h, err := s.AnchoredHead(ctx); err != nil || h.Seq != 5 || h.Hash != evs[4].Hash {
		t.Fatalf("anchored after restart: %+v %v", h, err)
	}
}

// TestJournalHeadFileRemoved: a removed head file is not written anew
// (which would hide a cut made at the same time); the check fails until an
// operator re-anchors, which the journal records.
func TestJournalHeadFileRemoved(t *testing.T) {
	path := journalWith(t, 4)
	if err := os.Remove(path + HeadSuffix); err != nil {
		t.Fatal(err)
	}
	tamper(t, path, `DELETE FROM journal WHERE seq > 2`)
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(ctx, mailbox.EventInput{At: storetest.T0, Kind: "note"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AnchoredHead(ctx); !errors.Is(err, mailbox.ErrNoAnchor) {
		t.Fatalf("AnchoredHead: %v, want ErrNoAnchor", err)
	}
	if _, err := mailbox.VerifyJournal(ctx, s); !errors.Is(err, mailbox.ErrNoAnchor) {
		t.Fatalf("verify without the head file: %v, want ErrNoAnchor", err)
	}
	h, err := s.Reanchor(ctx, "alice", storetest.T0)
	if err != nil || h.Seq != 3 {
		t.Fatalf("Reanchor: %+v %v", h, err)
	}
	r, err := mailbox.VerifyJournal(ctx, s)
	if err != nil || r.HeadSeq != 4 || r.Anchor.Seq != 4 {
		t.Fatalf("after re-anchoring: %+v %v", r, err)
	}
	evs, _ := s.Events(ctx, 3, 10)
	if len(evs) != 1 || evs[0].Kind != "journal_reanchored" || !strings.Contains(evs[0].Detail, `"actor":"alice"`) {
		t.Fatalf("journal after re-anchoring: %+v", evs)
	}
}
