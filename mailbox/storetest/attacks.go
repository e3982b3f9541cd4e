package storetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Anchored is a store that keeps its journal head in a file outside the
// database (both stores do): the attack tests read and remove that file.
type Anchored interface {
	mailbox.Store
	HeadPath() string
	// AnchorErr is why the head could not be anchored after the last
	// commit that appended entries (nil when it was).
	AnchorErr() error
	// Reanchor verifies the chain alone and anchors its head anew,
	// journaling "journal_reanchored" with actor.
	Reanchor(ctx context.Context, actor string, now time.Time) (mailbox.JournalHead, error)
}

// Tamper edits the journal of the store kept in dir, closed, as someone
// with direct access to the database would: the append-only guards off,
// stmts run, and the cached head row fixed up to the last entry left.
type Tamper func(t *testing.T, dir string, stmts ...string)

// RunJournalAttacks runs the tests of a journal edited behind the
// store's back: each must be found by mailbox.VerifyJournal.
func RunJournalAttacks(t *testing.T, open Opener, tamper Tamper) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener, Tamper)
	}{
		{"TailTruncationDetected", testTailTruncation},
		{"TruncationNotMaskedByNewEntries", testTruncationNotMasked},
		{"ReorderDetected", testReorder},
		{"EditDetected", testEdit},
		{"HeadBehindAfterCrash", testHeadBehind},
		{"HeadFileRemoved", testHeadFileRemoved},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open, tamper) })
	}
}

func anchored(t *testing.T, open Opener, dir string) Anchored {
	t.Helper()
	s, ok := open(t, dir).(Anchored)
	if !ok {
		t.Fatal("the store does not anchor its journal head in a file")
	}
	return s
}

// journalWith makes a store in a new directory whose journal holds n
// entries, closed, and returns the directory.
func journalWith(t *testing.T, open Opener, n int) string {
	t.Helper()
	dir := t.TempDir()
	s := open(t, dir)
	for i := 1; i <= n; i++ {
		if _, err := s.Append(ctx, mailbox.EventInput{At: T0, MessageID: int64(i), Kind: "note", Detail: map[string]string{"n": fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func verifyIn(t *testing.T, open Opener, dir string) (mailbox.JournalReport, error) {
	t.Helper()
	s := open(t, dir)
	defer s.Close()
	return mailbox.VerifyJournal(ctx, s)
}

// testTailTruncation: deleting the last entries (and fixing the cached
// head) passed `journal verify`, because nothing remembered the head. The
// head file does.
func testTailTruncation(t *testing.T, open Opener, tamper Tamper) {
	dir := journalWith(t, open, 10)
	tamper(t, dir, `DELETE FROM journal WHERE seq > 7`)
	r, err := verifyIn(t, open, dir)
	if !errors.Is(err, mailbox.ErrJournalTruncated) || !errors.Is(err, mailbox.ErrJournalBroken) || r.BrokenAt != 8 || r.Entries != 7 || r.Anchor.Seq != 10 {
		t.Fatalf("after cutting 3 entries: %+v %v, want truncation at entry 8", r, err)
	}
	if !strings.Contains(r.Reason, "ends at entry 7") || !strings.Contains(r.Reason, "anchored head is entry 10") {
		t.Fatalf("reason %q", r.Reason)
	}
}

// testTruncationNotMasked: after the tail was cut, the gateway goes on
// appending past the old head; the head file is never moved over the gap,
// and the check still fails.
func testTruncationNotMasked(t *testing.T, open Opener, tamper Tamper) {
	dir := journalWith(t, open, 10)
	tamper(t, dir, `DELETE FROM journal WHERE seq > 7`)
	s := anchored(t, open, dir)
	defer s.Close()
	if !errors.Is(s.AnchorErr(), mailbox.ErrJournalTruncated) {
		t.Fatalf("AnchorErr at Open: %v, want ErrJournalTruncated", s.AnchorErr())
	}
	for i := 0; i < 6; i++ {
		if _, err := s.Append(ctx, mailbox.EventInput{At: T0, Kind: "note"}); err != nil {
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

// testReorder: two entries swapped, each keeping its own hash, are found
// at the first of them.
func testReorder(t *testing.T, open Opener, tamper Tamper) {
	dir := journalWith(t, open, 6)
	tamper(t, dir, `UPDATE journal SET seq = -seq WHERE seq IN (3, 4)`, `UPDATE journal SET seq = 4 WHERE seq = -3`, `UPDATE journal SET seq = 3 WHERE seq = -4`)
	if r, err := verifyIn(t, open, dir); !errors.Is(err, mailbox.ErrJournalBroken) || r.BrokenAt != 3 || errors.Is(err, mailbox.ErrJournalTruncated) {
		t.Fatalf("swapped entries: %+v %v, want broken at 3", r, err)
	}
}

// testEdit: a changed detail is found at its entry.
func testEdit(t *testing.T, open Opener, tamper Tamper) {
	dir := journalWith(t, open, 6)
	tamper(t, dir, `UPDATE journal SET detail = '{"n":"99"}' WHERE seq = 5`)
	if r, err := verifyIn(t, open, dir); !errors.Is(err, mailbox.ErrJournalBroken) || r.BrokenAt != 5 || r.Reason != "entry hash does not match its content" {
		t.Fatalf("edited entry: %+v %v, want broken at 5", r, err)
	}
}

// testHeadBehind: a process that stops between a commit and its head
// write leaves the file behind the journal. The check reports it without
// failing, and the next start anchors the head again.
func testHeadBehind(t *testing.T, open Opener, _ Tamper) {
	dir := journalWith(t, open, 5)
	s := anchored(t, open, dir)
	evs, _ := s.Events(ctx, 0, 10)
	if err := mailbox.WriteJournalHead(nil, s.HeadPath(), mailbox.JournalHead{Seq: 3, Hash: evs[2].Hash}); err != nil {
		t.Fatal(err)
	}
	if r, err := mailbox.VerifyJournal(ctx, s); err != nil || r.AnchorBehind != 2 || r.Entries != 5 {
		t.Fatalf("head behind: %+v %v", r, err)
	}
	s.Close()
	s = anchored(t, open, dir)
	defer s.Close()
	if h, err := s.AnchoredHead(ctx); err != nil || h.Seq != 5 || h.Hash != evs[4].Hash {
		t.Fatalf("anchored after restart: %+v %v", h, err)
	}
}

// testHeadFileRemoved: a removed head file is not written anew (which
// would hide a cut made at the same time); the check fails until an
// operator re-anchors, which the journal records.
func testHeadFileRemoved(t *testing.T, open Opener, tamper Tamper) {
	dir := journalWith(t, open, 4)
	s := anchored(t, open, dir)
	path := s.HeadPath()
	s.Close()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	tamper(t, dir, `DELETE FROM journal WHERE seq > 2`)
	s = anchored(t, open, dir)
	defer s.Close()
	if _, err := s.Append(ctx, mailbox.EventInput{At: T0, Kind: "note"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AnchoredHead(ctx); !errors.Is(err, mailbox.ErrNoAnchor) {
		t.Fatalf("AnchoredHead: %v, want ErrNoAnchor", err)
	}
	if _, err := mailbox.VerifyJournal(ctx, s); !errors.Is(err, mailbox.ErrNoAnchor) {
		t.Fatalf("verify without the head file: %v, want ErrNoAnchor", err)
	}
	h, err := s.Reanchor(ctx, "alice", T0)
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
