package storecopy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite/sqlitetest"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

var ctx = context.Background()

// t0 has nanoseconds that a microsecond timestamp would lose.
var t0 = time.Date(2026, 3, 4, 9, 30, 0, 123456789, time.UTC)

// site is a SQLite store in a data directory, filled through the store's
// own methods as the engines fill it.
type site struct {
	dir   string
	st    *sqlite.Store
	blobs *mailbox.Blobs
}

func newSite(t testing.TB) *site {
	t.Helper()
	dir := t.TempDir()
	st, blobs := sqlitetest.Open(t, dir, func() time.Time { return t0 })
	return &site{dir: dir, st: st, blobs: blobs}
}

// filledSite is a new site after fill(out, in, entries).
func filledSite(t testing.TB, out, in, entries int) *site {
	t.Helper()
	s := newSite(t)
	s.fill(t, out, in, entries)
	return s
}

// copyTo copies the site into the database dsn, failing t unless the copy
// succeeds.
func (s *site) copyTo(t testing.TB, dsn, head string) Report {
	t.Helper()
	rep, err := SQLiteToPostgres(ctx, s.st, dsn, Options{HeadPath: head})
	if err != nil {
		t.Fatalf("copy: %v (%+v)", err, rep)
	}
	return rep
}

func (s *site) doc(t testing.TB, role mailbox.Role, content string) mailbox.Document {
	t.Helper()
	ref, err := s.blobs.Put(strings.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	return mailbox.Document{Role: role, Name: "Schriftsatz ä " + content[:min(8, len(content))] + ".pdf", ContentType: "application/pdf", SHA256: ref.SHA256, Size: ref.Size}
}

// fill stores out outgoing and in incoming messages and walks them
// through the states of both directions (sent and confirmed, failed,
// held, leased, delivered with intake record and process card, parked
// as unreadable, purged), counts a read, and appends events until the
// journal holds at least entries entries.
func (s *site) fill(t testing.TB, out, in, entries int) {
	t.Helper()
	st := s.st
	at := t0
	tick := func() time.Time { at = at.Add(1*time.Second + 7); return at }
	for i := range out {
		_, err := st.Enqueue(ctx, mailbox.NewOutgoing{Mailbox: "safe-behoerde", Recipient: fmt.Sprintf("safe-gericht-%d", i%3),
			Subject: fmt.Sprintf("Klage %d „Müller ./. Stadt“", i), Documents: []mailbox.Document{s.doc(t, mailbox.RoleDocument, fmt.Sprintf("outgoing %d", i))},
			Meta: []byte(`{"az":"` + fmt.Sprint(i) + `"}`), IdempotencyKey: fmt.Sprintf("key-%d", i), Now: tick()})
		if err != nil {
			t.Fatal(err)
		}
	}
	ms, err := st.ClaimDue(ctx, mailbox.Out, tick(), "node-a", time.Hour, max(out, 1))
	if err != nil {
		t.Fatal(err)
	}
	apply := func(m mailbox.Message, c mailbox.Change) mailbox.Message {
		t.Helper()
		c.ID, c.Owner, c.Token, c.Now = m.ID, m.LeaseOwner, m.LeaseToken, tick()
		r, err := st.Apply(ctx, c)
		if err != nil {
			t.Fatalf("apply %d → %s: %v", m.ID, c.To, err)
		}
		return r
	}
	for i, m := range ms {
		switch i % 5 {
		case 0: // left leased, as a stopped gateway leaves it
		case 1, 2:
			m = apply(m, mailbox.Change{To: mailbox.StateIDAssigned, OSCIMessageID: fmt.Sprintf("govapp_out_%d", i), KeepLease: true})
			m = apply(m, mailbox.Change{To: mailbox.StateSending, KeepLease: true})
			m = apply(m, mailbox.Change{To: mailbox.StateSent, KeepLease: true, Card: &mailbox.ProcessCard{OSCIMessageID: m.OSCIMessageID, Creation: tick()}})
			if i%5 == 1 {
				apply(m, mailbox.Change{To: mailbox.StateConfirmed, Card: &mailbox.ProcessCard{OSCIMessageID: m.OSCIMessageID, Reception: tick()}})
			} else {
				apply(m, mailbox.Change{To: mailbox.StateSent, Next: tick().Add(time.Hour)})
			}
		case 3:
			apply(m, mailbox.Change{To: mailbox.StateFailed, ErrCode: "9801", ErrText: "Empfänger unbekannt"})
		case 4:
			m = apply(m, mailbox.Change{To: mailbox.StateIDAssigned, OSCIMessageID: fmt.Sprintf("govapp_out_%d", i)})
			if _, err := st.Operate(ctx, mailbox.OperatorAction{ID: m.ID, Op: mailbox.OpHold, Actor: "admin", Reason: "Rückfrage", Now: tick()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range in {
		docs := []mailbox.Document{s.doc(t, mailbox.RoleOriginal, fmt.Sprintf("original %d", i)), s.doc(t, mailbox.RoleDocument, fmt.Sprintf("incoming %d", i))}
		n := mailbox.NewIncoming{Mailbox: "safe-behoerde", OSCIMessageID: fmt.Sprintf("govapp_in_%d", i), ContentSHA256: fmt.Sprintf("%064x", i),
			Size: 100, Subject: "Ladung", Sender: "safe-gericht-1", Recipient: "safe-behoerde", Meta: []byte(`{}`), Documents: docs,
			Card: &mailbox.ProcessCard{OSCIMessageID: fmt.Sprintf("govapp_in_%d", i), Creation: tick(), Forwarding: tick(),
				Inspections: []mailbox.Inspection{{Time: tick(), Subject: "CN=Gericht", Issuer: "CN=CA", Serial: "17", CertType: "qualified"}}},
			Now: tick()}
		if i%4 == 3 {
			n.Unreadable, n.Attempts, n.Documents = "kein OSCI", 3, docs[:1]
		}
		if _, err := st.InsertIncoming(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	ms, err = st.ClaimDue(ctx, mailbox.In, tick(), "node-a", time.Minute, max(in, 1))
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		m = apply(m, mailbox.Change{To: mailbox.StateIntakePending, KeepLease: true})
		if i%2 == 0 {
			apply(m, mailbox.Change{To: mailbox.StateDelivered, Intake: &mailbox.IntakeRecord{Sink: "folder", Location: fmt.Sprintf("eingang/%d", i),
				ManifestSHA256: fmt.Sprintf("%064x", 1000+i), DeliveredAt: tick()}})
		} else {
			apply(m, mailbox.Change{To: mailbox.StateIntakePending, Next: tick().Add(time.Minute), ErrCode: "intake", ErrText: "eAkte nicht erreichbar"})
		}
	}
	if _, err := st.BeginFetch(ctx, "safe-behoerde", "govapp_stuck", tick()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Purge(ctx, mailbox.PurgeRequest{Mailbox: "safe-behoerde", Direction: mailbox.In, Before: tick().Add(time.Hour), Limit: 3, Now: tick()}); err != nil {
		t.Fatal(err)
	}
	head, err := st.AnchoredHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for seq := head.Seq; seq < int64(entries); {
		ev, err := st.Append(ctx, mailbox.EventInput{At: tick(), Kind: "config_reloaded", Detail: map[string]string{"by": "SIGHUP", "n": fmt.Sprint(at.UnixNano())}})
		if err != nil {
			t.Fatal(err)
		}
		seq = ev.Seq
	}
}
