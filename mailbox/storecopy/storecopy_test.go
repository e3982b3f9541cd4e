package storecopy

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/pgblobs"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func headPath(t testing.TB) string { return filepath.Join(t.TempDir(), "postgres.journal-head") }

// openTarget opens the copy as a gateway does.
func openTarget(t *testing.T, dsn, head string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(ctx, dsn, postgres.Options{HeadPath: head})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func all(t *testing.T, st mailbox.Store) []mailbox.Message {
	t.Helper()
	var out []mailbox.Message
	for after := int64(0); ; {
		ms, err := st.List(ctx, mailbox.Filter{AfterID: after, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 {
			return out
		}
		out = append(out, ms...)
		after = ms[len(ms)-1].ID
	}
}

// TestCopyPreservesEverything copies a filled store and compares what the
// normal store code reads on both sides: every message with its state,
// lease, documents, card, intake record and journal entries, the counts,
// and the journal; then the copy goes on working as a store.
func TestCopyPreservesEverything(t *testing.T) {
	s := filledSite(t, 40, 20, 300)
	dsn, head := pgtest.DSN(t), headPath(t)
	rep := s.copyTo(t, dsn, head)
	if !rep.Match || rep.Source.Entries < 300 || rep.Target.HeadHash != rep.Source.HeadHash || rep.Blobs.Copied {
		t.Fatalf("report: %+v", rep)
	}
	for _, tb := range rep.Tables {
		if tb.Source != tb.Target || tb.SourceSHA256 != tb.TargetSHA256 {
			t.Fatalf("table %+v", tb)
		}
		if tb.Source == 0 {
			t.Errorf("table %s empty: the fill does not cover it", tb.Name)
		}
	}
	pg := openTarget(t, dsn, head)
	src, dst := all(t, s.st), all(t, pg)
	if len(src) != 60 || !reflect.DeepEqual(src, dst) {
		t.Fatalf("messages differ: %d source, %d target", len(src), len(dst))
	}
	states := map[mailbox.State]int{}
	for _, m := range src {
		states[m.State]++
		for _, get := range []func(mailbox.Store) (any, error){
			func(st mailbox.Store) (any, error) { return st.ProcessCard(ctx, m.ID) },
			func(st mailbox.Store) (any, error) { return st.IntakeRecord(ctx, m.ID) },
			func(st mailbox.Store) (any, error) { return st.MessageEvents(ctx, m.ID) },
		} {
			a, aerr := get(s.st)
			b, berr := get(pg)
			if !reflect.DeepEqual(a, b) || (aerr == nil) != (berr == nil) {
				t.Fatalf("message %d: %+v %v, copy %+v %v", m.ID, a, aerr, b, berr)
			}
		}
	}
	if len(states) < 8 {
		t.Fatalf("the fill covers only the states %v", states)
	}
	c1, _ := s.st.CountByState(ctx)
	c2, _ := pg.CountByState(ctx)
	if !reflect.DeepEqual(c1, c2) {
		t.Fatalf("counts %v, copy %v", c1, c2)
	}
	r, err := mailbox.VerifyJournal(ctx, pg)
	if err != nil || r.HeadSeq != rep.Source.HeadSeq || r.HeadHash != rep.Source.HeadHash || r.AnchorBehind != 0 {
		t.Fatalf("journal verify on the copy: %+v %v", r, err)
	}
	if h, err := mailbox.ReadJournalHead(nil, head); err != nil || h.Seq != r.HeadSeq || h.Hash != r.HeadHash {
		t.Fatalf("the copy's head file: %v %v", h, err)
	}
	// The copy goes on: a new message after the highest ID, the journal
	// continues the chain.
	m, err := pg.Enqueue(ctx, mailbox.NewOutgoing{Mailbox: "safe-behoerde", Recipient: "safe-gericht-1", Subject: "neu",
		Documents: []mailbox.Document{s.doc(t, mailbox.RoleDocument, "after the move")}, Now: t0.Add(time.Hour)})
	if err != nil || m.ID != src[len(src)-1].ID+1 {
		t.Fatalf("enqueue on the copy: id %d %v, want %d", m.ID, err, src[len(src)-1].ID+1)
	}
	if r2, err := mailbox.VerifyJournal(ctx, pg); err != nil || r2.HeadSeq != r.HeadSeq+1 {
		t.Fatalf("journal after a new message: %+v %v", r2, err)
	}
}

// TestCopyBlobsToPostgres copies the documents too when the target
// keeps them in PostgreSQL, each re-hashed.
func TestCopyBlobsToPostgres(t *testing.T) {
	s := filledSite(t, 6, 4, 50)
	dsn := pgtest.DSN(t)
	pb, err := pgblobs.Open(ctx, dsn, pgblobs.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pb.Close()
	rep, err := SQLiteToPostgres(ctx, s.st, dsn, Options{HeadPath: headPath(t), SourceBlobs: s.blobs, TargetBlobs: pb})
	if err != nil || !rep.Match || !rep.Blobs.Copied || rep.Blobs.Count == 0 {
		t.Fatalf("copy: %+v %v", rep, err)
	}
	for _, m := range all(t, openTarget(t, dsn, headPath(t))) {
		for _, d := range m.Documents {
			if d.PurgedAt.IsZero() {
				if err := pb.Verify(d.SHA256); err != nil {
					t.Fatalf("message %d document %s: %v", m.ID, d.Name, err)
				}
			}
		}
	}
}
