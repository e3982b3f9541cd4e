package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// testFetchAttempts: reads are counted durably per mailbox and MessageId
// (also across a reopen, as after a crash), taken back when nothing
// arrived, kept and journaled when unreadable, cleared by an operator,
// and forgotten once the delivery is stored.
func testFetchAttempts(t *testing.T, open Opener) {
	dir := t.TempDir()
	s := open(t, dir)
	begin := func(mbox, id string, want int) {
		t.Helper()
		if n, err := s.BeginFetch(ctx, mbox, id, T0); err != nil || n != want {
			t.Fatalf("BeginFetch %s/%s: %d %v, want %d", mbox, id, n, err, want)
		}
	}
	end := func(e mailbox.FetchEnd) {
		t.Helper()
		e.Now = T0
		if err := s.EndFetch(ctx, e); err != nil {
			t.Fatalf("EndFetch %+v: %v", e, err)
		}
	}
	begin("mb", "govapp_1", 1)
	begin("mb", "govapp_1", 2) // the first read never ended: a crash
	begin("mb2", "govapp_1", 1)
	end(mailbox.FetchEnd{Mailbox: "mb", OSCIMessageID: "govapp_1", Unreadable: "bad namespace"})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	begin("mb", "govapp_1", 3)
	end(mailbox.FetchEnd{Mailbox: "mb", OSCIMessageID: "govapp_1"}) // nothing arrived: taken back
	begin("mb", "govapp_1", 3)
	evs, _ := s.Events(ctx, 0, 100)
	if len(evs) != 1 || evs[0].Kind != "fetch_unreadable" || evs[0].MessageID != 0 {
		t.Fatalf("journal %+v, want one fetch_unreadable entry", evs)
	}
	end(mailbox.FetchEnd{Mailbox: "mb", OSCIMessageID: "govapp_1", Clear: true, Actor: "op"})
	begin("mb", "govapp_1", 1)
	incoming(t, s, "mb", "govapp_1", fmt.Sprintf("%064x", 31))
	begin("mb", "govapp_1", 1)
	begin("mb2", "govapp_1", 2)
	end(mailbox.FetchEnd{Mailbox: "mb", OSCIMessageID: "unknown"})
	if _, err := s.BeginFetch(ctx, "", "govapp_1", T0); !errors.Is(err, mailbox.ErrInvalidInput) {
		t.Fatalf("BeginFetch without mailbox: %v, want ErrInvalidInput", err)
	}
}

// testParkedIncoming: an unreadable delivery is stored quarantined with
// ReasonUnreadable; a new reading keeps it parked with the new reason or
// makes it a received message with the documents read, due at once.
func testParkedIncoming(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	orig := mailbox.Document{Role: mailbox.RoleOriginal, Name: "nachricht.osci", SHA256: fmt.Sprintf("%064x", 41), Size: 7}
	p, err := s.InsertIncoming(ctx, mailbox.NewIncoming{Mailbox: "mb", OSCIMessageID: "govapp_p", ContentSHA256: orig.SHA256, Size: 7,
		Documents: []mailbox.Document{orig}, Now: T0, NotBefore: T0.Add(time.Minute), Unreadable: "decrypt failed", Attempts: 3})
	if err != nil || p.State != mailbox.StateQuarantined || p.LastErrorCode != mailbox.ReasonUnreadable || p.LastErrorText != "decrypt failed" || p.FinalizedAt.IsZero() {
		t.Fatalf("parked: %+v %v", p, err)
	}
	if ms, _ := s.ClaimDue(ctx, mailbox.In, T0.Add(time.Hour), "w", time.Minute, 10); len(ms) != 0 {
		t.Fatalf("parked message claimed")
	}
	other := reach(t, s, mailbox.StateReceived, 5)
	for _, m := range []mailbox.Message{other, reach(t, s, mailbox.StateQuarantined, 6)} {
		if _, err := s.Reread(ctx, mailbox.Reread{ID: m.ID, Actor: "op", Now: T0, Failure: "x"}); !errors.Is(err, mailbox.ErrInvalidTransition) {
			t.Errorf("reread of a %s message (%s): %v, want ErrInvalidTransition", m.State, m.LastErrorCode, err)
		}
	}
	p, err = s.Reread(ctx, mailbox.Reread{ID: p.ID, Actor: "op", Now: T0.Add(time.Minute), Failure: "still no key"})
	if err != nil || p.State != mailbox.StateQuarantined || p.LastErrorText != "still no key" {
		t.Fatalf("failed reread: %+v %v", p, err)
	}
	if _, err := s.Reread(ctx, mailbox.Reread{ID: p.ID, Actor: "op", Now: T0, Read: &mailbox.NewIncoming{OSCIMessageID: "govapp_other", ContentSHA256: "x"}}); !errors.Is(err, mailbox.ErrInvalidInput) {
		t.Fatalf("reread as another MessageId: %v, want ErrInvalidInput", err)
	}
	sha := other.ContentSHA256 // the same documents as a message stored before
	now := T0.Add(2 * time.Minute)
	p, err = s.Reread(ctx, mailbox.Reread{ID: p.ID, Actor: "op", Now: now, Read: &mailbox.NewIncoming{OSCIMessageID: "govapp_p", ContentSHA256: sha,
		Size: 7, Subject: "Ladung", Sender: "DE.Justiz.x", Meta: []byte(`{"k":"v"}`), Documents: []mailbox.Document{orig, doc("Ladung.pdf", 2)},
		Card: &mailbox.ProcessCard{Creation: T0}}})
	if err != nil || p.State != mailbox.StateReceived || p.LastErrorCode != "" || p.LastErrorText != "" || !p.FinalizedAt.IsZero() ||
		!p.NextAttemptAt.Equal(now) || p.Sender != "DE.Justiz.x" || p.ContentSHA256 != sha || len(p.Documents) != 2 ||
		p.SameContentAs != other.OSCIMessageID || string(p.Meta) != `{"k":"v"}` {
		t.Fatalf("reread: %+v %v", p, err)
	}
	if c, err := s.ProcessCard(ctx, p.ID); err != nil || !c.Creation.Equal(T0) {
		t.Fatalf("card after reread: %+v %v", c, err)
	}
	evs, _ := s.MessageEvents(ctx, p.ID)
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
	}
	if fmt.Sprint(kinds) != "[received reread reread]" {
		t.Fatalf("journal %v", kinds)
	}
	claim(t, s, mailbox.In, p.ID, now)
}

// testJournalAnchor: the head kept outside the journal follows every
// commit that appends entries, also across a reopen, so that cutting
// entries off the end is detected.
func testJournalAnchor(t *testing.T, open Opener) {
	dir := t.TempDir()
	s := open(t, dir)
	want := func(step string) {
		t.Helper()
		h, err := s.AnchoredHead(ctx)
		if err != nil {
			t.Fatalf("%s: AnchoredHead: %v", step, err)
		}
		evs, err := s.Events(ctx, 0, 10000)
		if err != nil {
			t.Fatal(err)
		}
		last := mailbox.JournalHead{Hash: mailbox.GenesisHash}
		if len(evs) > 0 {
			last = mailbox.JournalHead{Seq: evs[len(evs)-1].Seq, Hash: evs[len(evs)-1].Hash}
		}
		if h != last {
			t.Fatalf("%s: anchored head %v, journal ends at %v", step, h, last)
		}
	}
	want("empty")
	m := enqueue(t, s, "mb")
	want("enqueue")
	m = claim(t, s, mailbox.Out, m.ID, T0)
	apply(t, s, m, mailbox.Change{To: mailbox.StateIDAssigned, OSCIMessageID: "govapp_a", Next: T0})
	want("apply")
	incoming(t, s, "mb", "govapp_b", fmt.Sprintf("%064x", 51))
	want("incoming")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	want("reopen")
	if _, err := s.Append(ctx, mailbox.EventInput{At: T0, Kind: "note"}); err != nil {
		t.Fatal(err)
	}
	want("append after reopen")
	r, err := mailbox.VerifyJournal(ctx, s)
	if err != nil || r.AnchorBehind != 0 || r.Anchor.Seq != r.HeadSeq {
		t.Fatalf("VerifyJournal: %+v %v", r, err)
	}
}
