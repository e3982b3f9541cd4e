package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// purge runs one Purge that must succeed.
func purge(t *testing.T, s mailbox.Store, p mailbox.PurgeRequest) mailbox.PurgeResult {
	t.Helper()
	if p.Mailbox == "" {
		p.Mailbox = "mb"
	}
	if p.Now.IsZero() {
		p.Now = T0.Add(time.Hour)
	}
	r, err := s.Purge(ctx, p)
	if err != nil {
		t.Fatalf("Purge %+v: %v", p, err)
	}
	return r
}

// testPurge: retention removes the content of finished messages only,
// keeps every row and the original, journals each message, and puts on
// the garbage list only blobs no kept document refers to.
func testPurge(t *testing.T, open Opener) {
	dir := t.TempDir()
	s := open(t, dir)
	confirmed := reach(t, s, mailbox.StateConfirmed, 1) // Klage.pdf, blob 1
	queued := reach(t, s, mailbox.StateQueued, 2)       // the same Klage.pdf, not finished
	delivered := reach(t, s, mailbox.StateDelivered, 3) // original 1003 and Ladung.pdf, blob 2
	after := T0.Add(time.Nanosecond)
	blob := func(n int) string { return fmt.Sprintf("%064x", n) }

	if _, err := s.Purge(ctx, mailbox.PurgeRequest{Mailbox: "mb", Before: after}); !errors.Is(err, mailbox.ErrInvalidInput) {
		t.Fatalf("purge without direction: %v, want ErrInvalidInput", err)
	}
	if r := purge(t, s, mailbox.PurgeRequest{Direction: mailbox.Out, Before: T0}); r.Messages != 0 {
		t.Fatalf("purged a message finished at the cut-off itself: %+v", r)
	}
	if r := purge(t, s, mailbox.PurgeRequest{Mailbox: "other", Direction: mailbox.Out, Before: after}); r.Messages != 0 {
		t.Fatalf("purged another mailbox's message: %+v", r)
	}
	r := purge(t, s, mailbox.PurgeRequest{Direction: mailbox.Out, Before: after})
	if r.Messages != 1 || r.Documents != 1 || r.Bytes != 101 || r.Garbage != 0 || r.More {
		t.Fatalf("outgoing purge %+v, want 1 message, 1 document of 101 bytes, no garbage (a queued message shares the blob)", r)
	}
	m, err := s.Get(ctx, confirmed.ID)
	if err != nil || m.State != mailbox.StateConfirmed || len(m.Documents) != 1 || !m.Documents[0].PurgedAt.Equal(T0.Add(time.Hour)) || m.Documents[0].SHA256 != blob(1) {
		t.Fatalf("purged message %+v %v: row, state and hash must stay, PurgedAt set", m, err)
	}
	if q, _ := s.Get(ctx, queued.ID); !q.Documents[0].PurgedAt.IsZero() {
		t.Fatal("the queued message's document was marked purged")
	}
	evs, err := s.MessageEvents(ctx, confirmed.ID)
	if err != nil || evs[len(evs)-1].Kind != "purged" || evs[len(evs)-1].Detail != `{"bytes":"101","direction":"out","documents":"1","finished_before":"2026-03-02T09:30:00Z","mailbox":"mb","roles":"document,structured"}` {
		t.Fatalf("journal of the purged message: %+v %v", evs[len(evs)-1], err)
	}
	if r := purge(t, s, mailbox.PurgeRequest{Direction: mailbox.Out, Before: after}); r.Messages != 0 {
		t.Fatalf("second purge %+v, want nothing", r)
	}
	if ok, err := s.BlobReferenced(ctx, blob(1)); !ok || err != nil {
		t.Fatalf("blob of the queued message: referenced %v %v", ok, err)
	}

	r = purge(t, s, mailbox.PurgeRequest{Direction: mailbox.In, Before: after})
	if r.Messages != 1 || r.Documents != 1 || r.Garbage != 1 {
		t.Fatalf("incoming purge %+v, want the one body, its blob on the garbage list", r)
	}
	m, _ = s.Get(ctx, delivered.ID)
	if m.Documents[0].Role != mailbox.RoleOriginal || !m.Documents[0].PurgedAt.IsZero() || m.Documents[1].PurgedAt.IsZero() {
		t.Fatalf("incoming documents %+v: the original stays, the body goes", m.Documents)
	}
	if got, err := s.BlobGarbage(ctx, "", 10); err != nil || len(got) != 1 || got[0] != blob(2) {
		t.Fatalf("garbage %v %v, want [blob 2]", got, err)
	}
	if ok, err := s.BlobReferenced(ctx, blob(2)); ok || err != nil {
		t.Fatalf("purged blob referenced %v %v", ok, err)
	}
	r = purge(t, s, mailbox.PurgeRequest{Direction: mailbox.In, Before: after, Roles: []mailbox.Role{mailbox.RoleOriginal}})
	if r.Documents != 1 || r.Garbage != 1 {
		t.Fatalf("purge of the original %+v", r)
	}
	if got, _ := s.BlobGarbage(ctx, blob(2), 10); len(got) != 1 || got[0] != blob(1003) {
		t.Fatalf("garbage after blob 2: %v, want [blob 1003]", got)
	}

	// A message stored later with the same content refers to the blob again.
	incoming(t, s, "mb", "govapp_9", blob(1009))
	if ok, err := s.BlobReferenced(ctx, blob(2)); !ok || err != nil {
		t.Fatalf("blob referenced again by a new message: %v %v", ok, err)
	}
	if err := s.ForgetBlobGarbage(ctx, []string{blob(2), blob(1003)}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.BlobGarbage(ctx, "", 10); err != nil || len(got) != 0 {
		t.Fatalf("garbage after forgetting: %v %v", got, err)
	}

	reach(t, s, mailbox.StateConfirmed, 4)
	reach(t, s, mailbox.StateConfirmed, 5)
	for i, want := range []mailbox.PurgeResult{{Messages: 1, More: true}, {Messages: 1, More: true}, {}} {
		r := purge(t, s, mailbox.PurgeRequest{Direction: mailbox.Out, Before: after, Limit: 1})
		if r.Messages != want.Messages || r.More != want.More {
			t.Fatalf("limited purge %d: %+v, want %+v", i, r, want)
		}
	}
	if r := purge(t, s, mailbox.PurgeRequest{Direction: mailbox.Out, Before: after}); r.Messages != 0 {
		t.Fatalf("purge after the limited ones: %+v", r)
	}

	s2 := open(t, dir)
	if m, err := s2.Get(ctx, confirmed.ID); err != nil || m.Documents[0].PurgedAt.IsZero() {
		t.Fatalf("reopened: %+v %v", m.Documents, err)
	}
	if _, err := mailbox.VerifyJournal(ctx, s2); err != nil {
		t.Fatal(err)
	}
}
