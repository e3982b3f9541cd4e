package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// testOutgoingUnique: a MessageId is used once per mailbox.
func testOutgoingUnique(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	a, b, c := enqueue(t, s, "mb1"), enqueue(t, s, "mb1"), enqueue(t, s, "mb2")
	ms, err := s.ClaimDue(ctx, mailbox.Out, T0, "w", time.Minute, 10)
	if err != nil || len(ms) != 3 {
		t.Fatalf("claim: %d %v", len(ms), err)
	}
	byID := map[int64]mailbox.Message{}
	for _, m := range ms {
		byID[m.ID] = m
	}
	apply(t, s, byID[a.ID], mailbox.Change{To: mailbox.StateIDAssigned, OSCIMessageID: "govapp_1"})
	m := byID[b.ID]
	_, err = s.Apply(ctx, mailbox.Change{ID: m.ID, Owner: m.LeaseOwner, Token: m.LeaseToken, To: mailbox.StateIDAssigned, OSCIMessageID: "govapp_1", Now: T0})
	if !errors.Is(err, mailbox.ErrDuplicate) {
		t.Fatalf("same MessageId in the same mailbox: %v, want ErrDuplicate", err)
	}
	if got, _ := s.Get(ctx, b.ID); got.State != mailbox.StateQueued || got.OSCIMessageID != "" {
		t.Fatalf("refused assignment changed the row: %+v", got)
	}
	apply(t, s, byID[c.ID], mailbox.Change{To: mailbox.StateIDAssigned, OSCIMessageID: "govapp_1"})
	got, err := s.GetByOSCIMessageID(ctx, mailbox.Out, "mb2", "govapp_1")
	if err != nil || got.ID != c.ID {
		t.Fatalf("GetByOSCIMessageID: %+v %v", got, err)
	}
	if _, err := s.GetByOSCIMessageID(ctx, mailbox.Out, "mb3", "govapp_1"); !errors.Is(err, mailbox.ErrNotFound) {
		t.Fatalf("unknown mailbox: %v, want ErrNotFound", err)
	}
	if _, err := s.Apply(ctx, mailbox.Change{ID: m.ID, Owner: m.LeaseOwner, Token: m.LeaseToken, To: mailbox.StateIDAssigned, Now: T0}); !errors.Is(err, mailbox.ErrInvalidInput) {
		t.Fatalf("id_assigned without MessageId: %v, want ErrInvalidInput", err)
	}
}

// testIncomingDedup: same MessageId and content → ErrDuplicate; same
// MessageId, other content → ErrDuplicateConflict; other MessageId, same
// content → stored for the intake, flagged with the first MessageId.
// Every case is journaled.
func testIncomingDedup(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	sha := fmt.Sprintf("%064x", 7)
	first := incoming(t, s, "mb", "govapp_7", sha)
	if first.State != mailbox.StateReceived || first.OSCIMessageID != "govapp_7" || string(first.Meta) != `{"k":"v"}` || len(first.Documents) != 2 {
		t.Fatalf("first: %+v", first)
	}
	cases := []struct {
		name    string
		mbox    string
		id, sha string
		want    error
		state   mailbox.State
		journal string
	}{
		{"repeat", "mb", "govapp_7", sha, mailbox.ErrDuplicate, mailbox.StateReceived, "duplicate_delivery"},
		{"conflict", "mb", "govapp_7", fmt.Sprintf("%064x", 8), mailbox.ErrDuplicateConflict, mailbox.StateReceived, "duplicate_conflict"},
		{"same content, new id", "mb", "govapp_9", sha, nil, mailbox.StateReceived, "received"},
		{"same id, other mailbox", "mb2", "govapp_7", sha, nil, mailbox.StateReceived, "received"},
	}
	for _, tc := range cases {
		m, err := s.InsertIncoming(ctx, mailbox.NewIncoming{Mailbox: tc.mbox, OSCIMessageID: tc.id, ContentSHA256: tc.sha, Size: 1,
			Documents: []mailbox.Document{{Role: mailbox.RoleOriginal, Name: "n", SHA256: tc.sha, Size: 1}}, Now: T0})
		if tc.want != nil {
			if !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
			if m.ID != first.ID {
				t.Errorf("%s: returned message %d, want the stored %d", tc.name, m.ID, first.ID)
			}
		} else if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if m.State != tc.state {
			t.Errorf("%s: state %s, want %s", tc.name, m.State, tc.state)
		}
		wantFlag := ""
		if tc.id == "govapp_9" {
			wantFlag = "govapp_7"
		}
		if m.SameContentAs != wantFlag || m.LastErrorCode != "" {
			t.Errorf("%s: same content as %q, error code %q; want %q and none", tc.name, m.SameContentAs, m.LastErrorCode, wantFlag)
		}
		evs, _ := s.Events(ctx, 0, 1000)
		if k := evs[len(evs)-1].Kind; k != tc.journal {
			t.Errorf("%s: journal %q, want %q", tc.name, k, tc.journal)
		}
		if wantFlag != "" && !strings.Contains(evs[len(evs)-1].Detail, `"same_content_as":"govapp_7"`) {
			t.Errorf("%s: journal detail %s", tc.name, evs[len(evs)-1].Detail)
		}
	}
	if _, err := s.InsertIncoming(ctx, mailbox.NewIncoming{Mailbox: "mb", ContentSHA256: sha, Now: T0}); !errors.Is(err, mailbox.ErrInvalidInput) {
		t.Fatalf("incoming without MessageId: %v, want ErrInvalidInput", err)
	}
}

// testSelfAddressedMessage: a mailbox that sends to itself holds two
// messages under one MessageId, the outgoing copy and the incoming one;
// neither is taken for a duplicate of the other.
func testSelfAddressedMessage(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	out := claim(t, s, mailbox.Out, enqueue(t, s, "mb").ID, T0)
	out = apply(t, s, out, mailbox.Change{To: mailbox.StateIDAssigned, OSCIMessageID: "govapp_self"})
	sha := fmt.Sprintf("%064x", 11)
	in, err := s.InsertIncoming(ctx, mailbox.NewIncoming{Mailbox: "mb", OSCIMessageID: "govapp_self", ContentSHA256: sha, Size: 1,
		Documents: []mailbox.Document{{Role: mailbox.RoleOriginal, Name: "n", SHA256: sha, Size: 1}}, Now: T0})
	if err != nil || in.ID == out.ID || in.Direction != mailbox.In || in.State != mailbox.StateReceived {
		t.Fatalf("incoming copy of a message to oneself: %+v %v, want a new received row", in, err)
	}
	if evs, _ := s.MessageEvents(ctx, out.ID); evs[len(evs)-1].Kind != "state" {
		t.Fatalf("outgoing copy journaled %q", evs[len(evs)-1].Kind)
	}
	for _, c := range []struct {
		dir  mailbox.Direction
		want int64
	}{{mailbox.In, in.ID}, {mailbox.Out, out.ID}} {
		if got, err := s.GetByOSCIMessageID(ctx, c.dir, "mb", "govapp_self"); err != nil || got.ID != c.want {
			t.Errorf("GetByOSCIMessageID(%s): message %d %v, want %d", c.dir, got.ID, err, c.want)
		}
	}
	// The incoming copy handed out again is a duplicate of the incoming copy.
	again, err := s.InsertIncoming(ctx, mailbox.NewIncoming{Mailbox: "mb", OSCIMessageID: "govapp_self", ContentSHA256: sha, Size: 1,
		Documents: []mailbox.Document{{Role: mailbox.RoleOriginal, Name: "n", SHA256: sha, Size: 1}}, Now: T0})
	if !errors.Is(err, mailbox.ErrDuplicate) || again.ID != in.ID {
		t.Fatalf("redelivery: message %d %v, want ErrDuplicate of %d", again.ID, err, in.ID)
	}
	// And the other way round: a MessageId received first may be used for
	// an outgoing message of the same mailbox.
	in2 := incoming(t, s, "mb", "govapp_seen", fmt.Sprintf("%064x", 12))
	o2 := claim(t, s, mailbox.Out, enqueue(t, s, "mb").ID, T0)
	if o2 = apply(t, s, o2, mailbox.Change{To: mailbox.StateIDAssigned, OSCIMessageID: "govapp_seen"}); o2.ID == in2.ID {
		t.Fatal("outgoing assignment returned the incoming row")
	}
}

func testProcessCard(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	m := claim(t, s, mailbox.Out, reach(t, s, mailbox.StateSending, 1).ID, T0)
	if _, err := s.ProcessCard(ctx, m.ID); !errors.Is(err, mailbox.ErrNotFound) {
		t.Fatalf("card before any: %v, want ErrNotFound", err)
	}
	insp := []mailbox.Inspection{{Time: T0, Subject: "CN=a", Issuer: "CN=ca", Serial: "01", CertType: "advanced", MathResult: "ok", OfflineResult: "valid"}}
	m = apply(t, s, m, mailbox.Change{To: mailbox.StateSent, Next: T0, Card: &mailbox.ProcessCard{Creation: T0, Subject: "s", Inspections: insp}})
	m = claim(t, s, mailbox.Out, m.ID, T0)
	apply(t, s, m, mailbox.Change{To: mailbox.StateConfirmed, Card: &mailbox.ProcessCard{Reception: T0.Add(time.Hour)}})
	c, err := s.ProcessCard(ctx, m.ID)
	if err != nil || !c.Creation.Equal(T0) || !c.Reception.Equal(T0.Add(time.Hour)) || c.Subject != "s" || c.OSCIMessageID != m.OSCIMessageID ||
		len(c.Inspections) != 1 || c.Inspections[0] != insp[0] {
		t.Fatalf("merged card: %+v %v", c, err)
	}
}

// testReceiptHold: a delivery inserted with NotBefore is held from the
// intake until UpdateProcessCard stores its receipt (or the hold runs
// out); the update merges without removing a known time and is journaled.
func testReceiptHold(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	hold := T0.Add(2 * time.Minute)
	insert := func(id, sha string) mailbox.Message {
		t.Helper()
		m, err := s.InsertIncoming(ctx, mailbox.NewIncoming{Mailbox: "mb", OSCIMessageID: id, ContentSHA256: sha, Size: 10,
			Documents: []mailbox.Document{{Role: mailbox.RoleOriginal, Name: "nachricht.osci", SHA256: sha, Size: 10}},
			Card:      &mailbox.ProcessCard{Creation: T0, Forwarding: T0.Add(time.Second)}, Now: T0, NotBefore: hold})
		if err != nil {
			t.Fatalf("InsertIncoming: %v", err)
		}
		return m
	}
	a := insert("govapp_a", fmt.Sprintf("%064x", 71))
	b := insert("govapp_b", fmt.Sprintf("%064x", 72))
	if !a.NextAttemptAt.Equal(hold) {
		t.Fatalf("held row due %v, want %v", a.NextAttemptAt, hold)
	}
	now := T0.Add(3 * time.Second)
	if ms, err := s.ClaimDue(ctx, mailbox.In, now, "w1", time.Minute, 10); err != nil || len(ms) != 0 {
		t.Fatalf("held rows claimed: %d %v", len(ms), err)
	}
	tests := []struct {
		name   string
		card   mailbox.ProcessCard
		wantRc time.Time
	}{
		{"receipt with reception", mailbox.ProcessCard{OSCIMessageID: "govapp_a", Forwarding: T0.Add(time.Second), Reception: T0.Add(2 * time.Second)}, T0.Add(2 * time.Second)},
		{"empty card removes nothing", mailbox.ProcessCard{}, T0.Add(2 * time.Second)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.UpdateProcessCard(ctx, a.ID, tc.card, now); err != nil {
				t.Fatal(err)
			}
			c, err := s.ProcessCard(ctx, a.ID)
			if err != nil || !c.Creation.Equal(T0) || !c.Forwarding.Equal(T0.Add(time.Second)) || !c.Reception.Equal(tc.wantRc) || c.OSCIMessageID != "govapp_a" {
				t.Fatalf("card %+v: %v", c, err)
			}
		})
	}
	ms, err := s.ClaimDue(ctx, mailbox.In, now, "w1", time.Hour, 10)
	if err != nil || len(ms) != 1 || ms[0].ID != a.ID {
		t.Fatalf("after the receipt: claimed %+v %v, want only message %d", ms, err, a.ID)
	}
	// A leased row keeps its lease and schedule.
	if err := s.UpdateProcessCard(ctx, a.ID, mailbox.ProcessCard{Reception: T0.Add(4 * time.Second)}, now); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, a.ID); got.LeaseOwner != "w1" || got.LeaseToken != ms[0].LeaseToken || got.State != mailbox.StateReceived {
		t.Fatalf("leased row changed: %+v", got)
	}
	// Without a receipt the hold runs out by itself.
	if ms, err := s.ClaimDue(ctx, mailbox.In, hold, "w2", time.Minute, 10); err != nil || len(ms) != 1 || ms[0].ID != b.ID {
		t.Fatalf("after the hold: claimed %+v %v, want message %d", ms, err, b.ID)
	}
	evs, err := s.MessageEvents(ctx, a.ID)
	if err != nil || len(evs) != 4 || evs[1].Kind != "process_card" {
		t.Fatalf("journal of a: %+v %v", evs, err)
	}
	if err := s.UpdateProcessCard(ctx, b.ID+100, mailbox.ProcessCard{Reception: now}, now); !errors.Is(err, mailbox.ErrNotFound) {
		t.Fatalf("card of a missing message: %v, want ErrNotFound", err)
	}
}

func testIntakeRecord(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	m := claim(t, s, mailbox.In, reach(t, s, mailbox.StateIntakePending, 1).ID, T0)
	if _, err := s.Apply(ctx, mailbox.Change{ID: m.ID, Owner: m.LeaseOwner, Token: m.LeaseToken, To: mailbox.StateDelivered, Now: T0}); !errors.Is(err, mailbox.ErrInvalidInput) {
		t.Fatalf("delivered without record: %v, want ErrInvalidInput", err)
	}
	rec := mailbox.IntakeRecord{Sink: "folder", Location: "govapp_1", ManifestSHA256: fmt.Sprintf("%064x", 3), DeliveredAt: T0}
	apply(t, s, m, mailbox.Change{To: mailbox.StateDelivered, Intake: &rec})
	got, err := s.IntakeRecord(ctx, m.ID)
	if err != nil || got != rec {
		t.Fatalf("IntakeRecord: %+v %v", got, err)
	}
}

func testJournalChain(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	if r, err := mailbox.VerifyJournal(ctx, s); err != nil || r.Entries != 0 || r.HeadHash != mailbox.GenesisHash {
		t.Fatalf("empty journal: %+v %v", r, err)
	}
	reach(t, s, mailbox.StateConfirmed, 1)
	reach(t, s, mailbox.StateDelivered, 2)
	if _, err := s.Append(ctx, mailbox.EventInput{At: T0, Kind: "note", Detail: map[string]string{"text": "line\nbreak \"quoted\""}}); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	prev := mailbox.GenesisHash
	for i, e := range evs {
		if e.Seq != int64(i+1) || e.PrevHash != prev {
			t.Fatalf("entry %d: seq %d prev %s, want prev %s", i, e.Seq, e.PrevHash, prev)
		}
		prev = e.Hash
	}
	r, err := mailbox.VerifyJournal(ctx, s)
	if err != nil || r.Entries != int64(len(evs)) || r.HeadHash != prev || r.BrokenAt != 0 {
		t.Fatalf("VerifyJournal: %+v %v", r, err)
	}
	if page, _ := s.Events(ctx, 2, 2); len(page) != 2 || page[0].Seq != 3 {
		t.Fatalf("paging: %+v", page)
	}
	var want []mailbox.Event
	for _, e := range evs {
		if e.MessageID == evs[0].MessageID {
			want = append(want, e)
		}
	}
	got, err := s.MessageEvents(ctx, evs[0].MessageID)
	if err != nil || len(got) != len(want) || len(got) < 4 || got[len(got)-1] != want[len(want)-1] {
		t.Fatalf("MessageEvents: %d entries (%v), want %d", len(got), err, len(want))
	}
}

// testAtomicity: a refused change writes neither the row nor the journal.
func testAtomicity(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	m := claim(t, s, mailbox.In, reach(t, s, mailbox.StateIntakePending, 1).ID, T0)
	before, _ := s.Events(ctx, 0, 1000)
	bad := []mailbox.Change{
		{To: mailbox.StateDelivered},   // no intake record
		{To: mailbox.StateConfirmed},   // not an incoming state
		{To: mailbox.StateQuarantined}, // not from intake_pending
	}
	for _, c := range bad {
		c.ID, c.Owner, c.Token, c.Now = m.ID, m.LeaseOwner, m.LeaseToken, T0.Add(time.Hour)
		if _, err := s.Apply(ctx, c); err == nil {
			t.Fatalf("change to %s accepted", c.To)
		}
	}
	after, _ := s.Events(ctx, 0, 1000)
	got, _ := s.Get(ctx, m.ID)
	if len(after) != len(before) || got.State != mailbox.StateIntakePending || !got.UpdatedAt.Equal(m.UpdatedAt) {
		t.Fatalf("refused changes left traces: %d→%d events, row %+v", len(before), len(after), got)
	}
}

// testReopen: everything committed is there after closing and reopening,
// and a lease held by a process that went away expires.
func testReopen(t *testing.T, open Opener) {
	dir := t.TempDir()
	s := open(t, dir)
	q := enqueue(t, s, "mb")
	m := claim(t, s, mailbox.Out, q.ID, T0)
	m = apply(t, s, m, mailbox.Change{To: mailbox.StateIDAssigned, OSCIMessageID: "govapp_5", KeepLease: true, Next: T0})
	r1, _ := mailbox.VerifyJournal(ctx, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	got, err := s.Get(ctx, q.ID)
	if err != nil || got.State != mailbox.StateIDAssigned || got.OSCIMessageID != "govapp_5" || got.LeaseOwner != m.LeaseOwner {
		t.Fatalf("after reopen: %+v %v", got, err)
	}
	r2, err := mailbox.VerifyJournal(ctx, s)
	if err != nil || r2 != r1 {
		t.Fatalf("journal after reopen: %+v vs %+v (%v)", r2, r1, err)
	}
	ms, err := s.ClaimDue(ctx, mailbox.Out, T0.Add(2*time.Minute), "restarted", time.Minute, 10)
	if err != nil || len(ms) != 1 || ms[0].State != mailbox.StateIDAssigned || ms[0].OSCIMessageID != "govapp_5" {
		t.Fatalf("claim after restart: %+v %v", ms, err)
	}
}

func testList(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	a := enqueue(t, s, "mb1")
	enqueue(t, s, "mb2")
	c := incoming(t, s, "mb1", "govapp_1", fmt.Sprintf("%064x", 1))
	cases := []struct {
		name string
		f    mailbox.Filter
		want []int64
	}{
		{"all", mailbox.Filter{}, []int64{a.ID, a.ID + 1, c.ID}},
		{"direction", mailbox.Filter{Direction: mailbox.In}, []int64{c.ID}},
		{"mailbox", mailbox.Filter{Mailbox: "mb1"}, []int64{a.ID, c.ID}},
		{"state", mailbox.Filter{States: []mailbox.State{mailbox.StateQueued}}, []int64{a.ID, a.ID + 1}},
		{"page", mailbox.Filter{AfterID: a.ID, Limit: 1}, []int64{a.ID + 1}},
	}
	for _, tc := range cases {
		ms, err := s.List(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var ids []int64
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, ids, tc.want)
		}
	}
}

// testIdempotency: one message per submission key; the submitter's
// metadata is kept.
func testIdempotency(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	n := mailbox.NewOutgoing{Mailbox: "mb", Recipient: "court", Subject: "Klage", Documents: []mailbox.Document{doc("Klage.pdf", 1)},
		Meta: []byte(`{"caseNumberRecipient":"1 C 2/26"}`), IdempotencyKey: "client-key-1", Now: T0}
	first, err := s.Enqueue(ctx, n)
	if err != nil || first.IdempotencyKey != "client-key-1" || string(first.Meta) != `{"caseNumberRecipient":"1 C 2/26"}` {
		t.Fatalf("first: %+v %v", first, err)
	}
	other := n
	other.Documents = []mailbox.Document{doc("Klage.pdf", 2)}
	cases := []struct {
		name string
		n    mailbox.NewOutgoing
		want error
	}{
		{"repeat", n, mailbox.ErrDuplicate},
		{"same key, other documents", other, mailbox.ErrDuplicateConflict},
	}
	for _, tc := range cases {
		m, err := s.Enqueue(ctx, tc.n)
		if !errors.Is(err, tc.want) || m.ID != first.ID {
			t.Errorf("%s: message %d, %v; want %d, %v", tc.name, m.ID, err, first.ID, tc.want)
		}
	}
	got, err := s.GetByIdempotencyKey(ctx, "client-key-1")
	if err != nil || got.ID != first.ID {
		t.Fatalf("GetByIdempotencyKey: %+v %v", got, err)
	}
	for _, key := range []string{"unknown", ""} {
		if _, err := s.GetByIdempotencyKey(ctx, key); !errors.Is(err, mailbox.ErrNotFound) {
			t.Errorf("key %q: %v, want ErrNotFound", key, err)
		}
	}
	// Messages without a key never collide.
	n.IdempotencyKey = ""
	a, err1 := s.Enqueue(ctx, n)
	b, err2 := s.Enqueue(ctx, n)
	if err1 != nil || err2 != nil || a.ID == b.ID {
		t.Fatalf("keyless enqueues: %v %v", err1, err2)
	}
	if ms, _ := s.List(ctx, mailbox.Filter{}); len(ms) != 3 {
		t.Fatalf("%d messages, want 3", len(ms))
	}
}

func testCountByState(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	enqueue(t, s, "mb1")
	enqueue(t, s, "mb1")
	enqueue(t, s, "mb2")
	incoming(t, s, "mb1", "govapp_1", fmt.Sprintf("%064x", 1))
	got, err := s.CountByState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []mailbox.StateCount{
		{Direction: mailbox.In, Mailbox: "mb1", State: mailbox.StateReceived, N: 1},
		{Direction: mailbox.Out, Mailbox: "mb1", State: mailbox.StateQueued, N: 2},
		{Direction: mailbox.Out, Mailbox: "mb2", State: mailbox.StateQueued, N: 1},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("CountByState\n got %v\nwant %v", got, want)
	}
}
