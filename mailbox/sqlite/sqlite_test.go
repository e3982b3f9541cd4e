package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/storetest"
)

var openTest = storetest.OpenerOf(func(t *testing.T, dir string) (*Store, error) {
	return Open(ctx, filepath.Join(dir, FileName), Options{})
})

func TestConformance(t *testing.T) {
	storetest.Run(t, openTest)
}

var ctx = context.Background()

// update is accepted so `go test ./... -update -run Golden` runs here too;
// this package has no golden files.
var _ = flag.Bool("update", false, "rewrite golden files (none in this package)")

// TestPragmas checks the durability settings on both pools.
func TestPragmas(t *testing.T) {
	s, err := Open(ctx, filepath.Join(t.TempDir(), FileName), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, db := range []*sql.DB{s.w, s.r} {
		var mode string
		var sync, fk int
		if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		db.QueryRow("PRAGMA synchronous").Scan(&sync)
		db.QueryRow("PRAGMA foreign_keys").Scan(&fk)
		if mode != "wal" || sync != 2 || fk != 1 {
			t.Fatalf("journal_mode %s synchronous %d foreign_keys %d, want wal 2 (FULL) 1", mode, sync, fk)
		}
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Fatalf("schema version %d %v", v, err)
	}
	if fi, err := os.Stat(s.Path()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("database file mode %v (%v), want 0600", fi.Mode(), err)
	}
	if _, err := s.r.Exec(`DELETE FROM messages`); err == nil {
		t.Fatal("read pool accepted a write")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(ctx, filepath.Join(dir, FileName), Options{MustExist: true}); !errors.Is(err, ErrNoDatabase) {
		t.Fatalf("MustExist on missing file: %v, want ErrNoDatabase", err)
	}
	s, err := Open(ctx, filepath.Join(dir, FileName), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(ctx, filepath.Join(dir, FileName), Options{}); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("newer schema: %v, want ErrSchemaTooNew", err)
	}
}

// TestDiskFull fills a 1 MiB tmpfs under the database: the write fails
// with ErrDiskFull, nothing is reported committed, and writes succeed again
// once space is freed, without reopening. Needs root to mount.
func TestDiskFull(t *testing.T) {
	dir := certstest.Tmpfs(t, "1m")
	s, err := Open(ctx, filepath.Join(dir, FileName), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	filler := filepath.Join(dir, "filler")
	f, _ := os.Create(filler)
	f.Write(make([]byte, 1<<20)) // fills the rest; the error is expected
	f.Close()
	big := strings.Repeat("x", 64<<10)
	n := mailbox.NewOutgoing{Mailbox: "mb", Recipient: "r", Subject: big, Documents: []mailbox.Document{{Role: mailbox.RoleDocument, Name: "x", SHA256: strings.Repeat("0", 64), Size: 1}}, Now: storetest.T0}
	var full error
	for i := 0; i < 50 && full == nil; i++ {
		_, full = s.Enqueue(ctx, n)
	}
	if !errors.Is(full, mailbox.ErrDiskFull) {
		t.Fatalf("Enqueue on a full disk: %v, want ErrDiskFull", full)
	}
	before, _ := s.List(ctx, mailbox.Filter{Limit: 1000})
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	m, err := s.Enqueue(ctx, n)
	if err != nil {
		t.Fatalf("Enqueue after freeing space: %v", err)
	}
	after, _ := s.List(ctx, mailbox.Filter{Limit: 1000})
	if len(after) != len(before)+1 || after[len(after)-1].ID != m.ID {
		t.Fatalf("rows %d → %d", len(before), len(after))
	}
	if _, err := mailbox.VerifyJournal(ctx, s); err != nil {
		t.Fatalf("journal after disk full: %v", err)
	}
}

// TestReleaseLeases: at start-up the owner of the data directory frees
// live leases left by a killed process, fencing the old holder off.
func TestReleaseLeases(t *testing.T) {
	s, err := Open(ctx, filepath.Join(t.TempDir(), FileName), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	m, err := s.Enqueue(ctx, mailbox.NewOutgoing{Mailbox: "mb", Recipient: "DE.Justiz.court", Subject: "Klage",
		Documents: []mailbox.Document{{Name: "Klage.pdf", SHA256: strings.Repeat("ab", 32), Size: 1}}, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := s.ClaimDue(ctx, mailbox.Out, t0, "killed-process", time.Hour, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %d", err, len(claimed))
	}
	old := claimed[0]
	// The lease is live: recovering expired leases leaves it alone.
	if got, err := s.RecoverExpired(ctx, t0.Add(time.Minute)); err != nil || len(got) != 0 {
		t.Fatalf("RecoverExpired freed a live lease: %v %d", err, len(got))
	}
	got, err := s.ReleaseLeases(ctx, t0.Add(time.Minute))
	if err != nil || len(got) != 1 || got[0].ID != m.ID || got[0].LeaseOwner != "" {
		t.Fatalf("ReleaseLeases: %v %+v", err, got)
	}
	// The old holder is fenced off.
	_, err = s.Apply(ctx, mailbox.Change{ID: old.ID, Owner: old.LeaseOwner, Token: old.LeaseToken, To: mailbox.StateIDAssigned,
		OSCIMessageID: "govapp_1", Now: t0.Add(2 * time.Minute)})
	if !errors.Is(err, mailbox.ErrLeaseLost) {
		t.Fatalf("stale holder: err = %v, want ErrLeaseLost", err)
	}
	// And the message is claimable at once by the new process.
	if again, err := s.ClaimDue(ctx, mailbox.Out, t0.Add(time.Minute), "new-process", time.Hour, 10); err != nil || len(again) != 1 {
		t.Fatalf("reclaim: %v %d", err, len(again))
	}
	evs, err := s.MessageEvents(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	var released bool
	for _, e := range evs {
		released = released || e.Kind == "lease_released"
	}
	if !released {
		t.Error("no lease_released journal entry")
	}
}

// migratedFrom makes a database as a gateway of schema version v left it,
// with the rows old writes into it, and opens it as a Store, which
// migrates it: the migration tests.
func migratedFrom(t *testing.T, v int, old func(db *sql.DB)) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= v; i++ {
		if _, err := db.Exec(migrations[i-1]); err != nil {
			t.Fatalf("migration %d: %v", i, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, i); err != nil {
			t.Fatal(err)
		}
	}
	old(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestMigrationKeepsVersion2Data: a database written before MessageIds
// were unique per direction opens with every row, document, card and
// journal entry, and then takes the incoming copy of a message to itself.
func TestMigrationKeepsVersion2Data(t *testing.T) {
	s := migratedFrom(t, 2, func(db *sql.DB) {
		for _, q := range []string{
			`INSERT INTO messages (id, direction, mailbox, state, osci_message_id, content_sha256, size, created_at, updated_at, idempotency_key)
				VALUES (1, 'out', 'mb', 'sent', 'govapp_1', 'aa', 1, 1, 1, 'key-1'), (2, 'in', 'mb', 'delivered', 'govapp_2', 'bb', 2, 1, 1, NULL)`,
			`INSERT INTO documents (message_id, seq, role, name, sha256, size) VALUES (1, 0, 'document', 'a.pdf', 'aa', 1), (2, 0, 'original', 'nachricht.osci', 'bb', 2)`,
			`INSERT INTO process_cards (message_id, osci_message_id, creation, updated_at) VALUES (1, 'govapp_1', 5, 5)`,
			`INSERT INTO intake_records (message_id, sink, location, manifest_sha256, delivered_at) VALUES (2, 'folder', 'govapp_2', 'cc', 7)`,
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
	})
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Fatalf("schema version %d %v", v, err)
	}
	out, err := s.GetByOSCIMessageID(ctx, mailbox.Out, "mb", "govapp_1")
	if err != nil || out.ID != 1 || out.IdempotencyKey != "key-1" || len(out.Documents) != 1 {
		t.Fatalf("outgoing row after migration: %+v %v", out, err)
	}
	if c, err := s.ProcessCard(ctx, 1); err != nil || c.Creation.UnixNano() != 5 {
		t.Fatalf("card after migration: %+v %v", c, err)
	}
	if r, err := s.IntakeRecord(ctx, 2); err != nil || r.Location != "govapp_2" {
		t.Fatalf("intake record after migration: %+v %v", r, err)
	}
	in, err := s.InsertIncoming(ctx, mailbox.NewIncoming{Mailbox: "mb", OSCIMessageID: "govapp_1", ContentSHA256: "dd", Size: 1,
		Documents: []mailbox.Document{{Role: mailbox.RoleOriginal, Name: "n", SHA256: "dd", Size: 1}}, Now: storetest.T0})
	if err != nil || in.ID != 3 {
		t.Fatalf("incoming copy after migration: %+v %v", in, err)
	}
	if _, err := s.w.Exec(`INSERT INTO documents (message_id, seq, role, name, sha256, size) VALUES (99, 0, 'x', 'x', 'x', 1)`); err == nil {
		t.Fatal("foreign keys not enforced after the migration")
	}
	if _, err := s.GetByIdempotencyKey(ctx, "key-1"); err != nil {
		t.Fatalf("idempotency index after migration: %v", err)
	}
}

// TestMigrationAnchorsExistingJournal: a database whose journal was written
// before the head was anchored gets its current head anchored on the first
// Open, and verifies.
func TestMigrationAnchorsExistingJournal(t *testing.T) {
	var last mailbox.Event
	s := migratedFrom(t, 5, func(db *sql.DB) {
		prev := mailbox.GenesisHash
		for i := int64(1); i <= 3; i++ {
			last = mailbox.Seal(mailbox.EventInput{At: storetest.T0, Kind: "note"}, i, prev)
			prev = last.Hash
			if _, err := db.Exec(`INSERT INTO journal (seq, at, message_id, kind, detail, prev_hash, hash) VALUES (?, ?, 0, ?, ?, ?, ?)`,
				last.Seq, last.At.UnixNano(), last.Kind, last.Detail, last.PrevHash, last.Hash); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Exec(`INSERT INTO journal_head (id, seq, hash) VALUES (1, ?, ?)`, last.Seq, last.Hash); err != nil {
			t.Fatal(err)
		}
	})
	if h, err := s.AnchoredHead(ctx); err != nil || h.Seq != 3 || h.Hash != last.Hash {
		t.Fatalf("anchored head after the migration: %+v %v", h, err)
	}
	if r, err := mailbox.VerifyJournal(ctx, s); err != nil || r.Entries != 3 || r.AnchorBehind != 0 {
		t.Fatalf("verify after the migration: %+v %v", r, err)
	}
}

// TestSnapshotWhileWriting copies the database while another connection
// commits: the copy is one committed state whose journal verifies.
func TestSnapshotWhileWriting(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(ctx, filepath.Join(dir, FileName), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			s.Enqueue(ctx, mailbox.NewOutgoing{Mailbox: "mb", Recipient: "r", Documents: []mailbox.Document{{Role: mailbox.RoleDocument, Name: "a.pdf", SHA256: strings.Repeat("ab", 32), Size: 1}}})
		}
	}()
	// The snapshot is taken while the writer runs, once it has committed
	// (on a loaded machine that can take longer than any fixed pause).
	for deadline := time.Now().Add(30 * time.Second); ; {
		ms, err := s.List(ctx, mailbox.Filter{Direction: mailbox.Out, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cp := filepath.Join(t.TempDir(), "copy.db")
	info, err := Snapshot(ctx, filepath.Join(dir, FileName), cp)
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if info.Messages == 0 || info.Head.Seq != int64(info.Messages) || len(info.Blobs) != 1 {
		t.Fatalf("snapshot %+v: want every message with its one journal entry and the one blob", info)
	}
	if _, err := Snapshot(ctx, filepath.Join(dir, FileName), cp); err == nil {
		t.Fatal("a snapshot over an existing file must fail")
	}
	if err := mailbox.WriteJournalHead(nil, cp+HeadSuffix, info.Head); err != nil {
		t.Fatal(err)
	}
	c, err := Open(ctx, cp, Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r, err := mailbox.VerifyJournal(ctx, c); err != nil || r.HeadSeq != info.Head.Seq {
		t.Fatalf("journal of the copy: %+v %v", r, err)
	}
}
