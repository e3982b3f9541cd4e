// Package storetest is the conformance suite every mailbox.Store must
// pass: the SQLite and the PostgreSQL store run Run and RunJournalAttacks
// in their tests (the PostgreSQL one against a real server, in CI too).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Opener opens the store kept in dir; opening the same dir again must show
// everything committed before (the suite closes and reopens to check).
type Opener func(t *testing.T, dir string) mailbox.Store

// OpenerOf makes the Opener of a store's open function: a store that does
// not open fails the test, one that does is closed when the test ends.
func OpenerOf[S mailbox.Store](open func(t *testing.T, dir string) (S, error)) Opener {
	return func(t *testing.T, dir string) mailbox.Store {
		t.Helper()
		s, err := open(t, dir)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// T0 is the suite's clock origin.
var T0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

var ctx = context.Background()

// Run runs every conformance test.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"EnqueueAndGet", testEnqueueAndGet},
		{"EngineTransitions", testEngineTransitions},
		{"OperatorTransitions", testOperatorTransitions},
		{"LeaseFencing", testLeaseFencing},
		{"LeaseExpiryAndRecovery", testLeaseExpiry},
		{"ConcurrentClaims", testConcurrentClaims},
		{"ClaimsAcrossStores", testClaimsAcrossStores},
		{"ClaimOrderAndDue", testClaimOrder},
		{"OutgoingMessageIDUnique", testOutgoingUnique},
		{"IncomingDedup", testIncomingDedup},
		{"SelfAddressedMessage", testSelfAddressedMessage},
		{"FetchAttempts", testFetchAttempts},
		{"ParkedIncoming", testParkedIncoming},
		{"ProcessCardMerge", testProcessCard},
		{"ReceiptHold", testReceiptHold},
		{"IntakeRecord", testIntakeRecord},
		{"JournalChain", testJournalChain},
		{"JournalAnchor", testJournalAnchor},
		{"FailedChangeLeavesNoTrace", testAtomicity},
		{"ReopenKeepsEverything", testReopen},
		{"List", testList},
		{"IdempotencyKey", testIdempotency},
		{"CountByState", testCountByState},
		{"Purge", testPurge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

func doc(name string, n int) mailbox.Document {
	return mailbox.Document{Role: mailbox.RoleDocument, Name: name, ContentType: "application/pdf",
		SHA256: fmt.Sprintf("%064x", n), Size: int64(100 + n)}
}

func enqueue(t *testing.T, s mailbox.Store, mbox string) mailbox.Message {
	t.Helper()
	m, err := s.Enqueue(ctx, mailbox.NewOutgoing{Mailbox: mbox, Recipient: "DE.Justiz.court", Subject: "Klage", Documents: []mailbox.Document{doc("Klage.pdf", 1)}, Now: T0})
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	return m
}

func incoming(t *testing.T, s mailbox.Store, mbox, id, sha string) mailbox.Message {
	t.Helper()
	m, err := s.InsertIncoming(ctx, mailbox.NewIncoming{Mailbox: mbox, OSCIMessageID: id, ContentSHA256: sha, Size: 10,
		Subject: "Ladung", Sender: "DE.Justiz.x", Meta: []byte(`{"k":"v"}`), Documents: []mailbox.Document{
			{Role: mailbox.RoleOriginal, Name: "nachricht.osci", SHA256: sha, Size: 10}, doc("Ladung.pdf", 2)}, Now: T0})
	if err != nil {
		t.Fatalf("InsertIncoming: %v", err)
	}
	return m
}

// claim claims exactly message id (failing the test otherwise).
func claim(t *testing.T, s mailbox.Store, dir mailbox.Direction, id int64, now time.Time) mailbox.Message {
	t.Helper()
	ms, err := s.ClaimDue(ctx, dir, now, "w1", time.Minute, 100)
	if err != nil {
		t.Fatalf("ClaimDue: %v", err)
	}
	for _, m := range ms {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("message %d not claimed (got %d rows)", id, len(ms))
	return mailbox.Message{}
}

func apply(t *testing.T, s mailbox.Store, m mailbox.Message, c mailbox.Change) mailbox.Message {
	t.Helper()
	c.ID, c.Owner, c.Token = m.ID, m.LeaseOwner, m.LeaseToken
	if c.Now.IsZero() {
		c.Now = T0
	}
	out, err := s.Apply(ctx, c)
	if err != nil {
		t.Fatalf("Apply %s → %s: %v", m.State, c.To, err)
	}
	return out
}

// operate applies an operator action of actor "test" at T0 that must succeed.
func operate(t *testing.T, s mailbox.Store, id int64, op mailbox.Op) mailbox.Message {
	t.Helper()
	m, err := s.Operate(ctx, mailbox.OperatorAction{ID: id, Op: op, Actor: "test", Now: T0})
	if err != nil {
		t.Fatalf("%s of message %d: %v", op, id, err)
	}
	return m
}

// reach returns a fresh message in state st, unleased and due at T0.
func reach(t *testing.T, s mailbox.Store, st mailbox.State, n int) mailbox.Message {
	t.Helper()
	id := fmt.Sprintf("govapp_%d", n)
	step := func(m mailbox.Message, to mailbox.State) mailbox.Message {
		m = claim(t, s, m.Direction, m.ID, T0)
		c := mailbox.Change{To: to, Next: T0}
		if to == mailbox.StateIDAssigned {
			c.OSCIMessageID = id
		}
		if to == mailbox.StateDelivered {
			c.Intake = &mailbox.IntakeRecord{Sink: "folder", Location: id, ManifestSHA256: fmt.Sprintf("%064x", n), DeliveredAt: T0}
		}
		return apply(t, s, m, c)
	}
	switch st {
	case mailbox.StateQueued:
		return enqueue(t, s, "mb")
	case mailbox.StateIDAssigned, mailbox.StateFailed:
		return step(enqueue(t, s, "mb"), st)
	case mailbox.StateSending:
		return step(reach(t, s, mailbox.StateIDAssigned, n), st)
	case mailbox.StateSent, mailbox.StateConfirmed:
		return step(reach(t, s, mailbox.StateSending, n), st)
	case mailbox.StateHeld:
		return operate(t, s, enqueue(t, s, "mb").ID, mailbox.OpHold)
	case mailbox.StateReceived:
		return incoming(t, s, "mb", id, fmt.Sprintf("%064x", 1000+n))
	case mailbox.StateIntakePending, mailbox.StateQuarantined:
		return step(reach(t, s, mailbox.StateReceived, n), st)
	case mailbox.StateDelivered:
		return step(reach(t, s, mailbox.StateIntakePending, n), st)
	case mailbox.StateDeleted:
		return operate(t, s, enqueue(t, s, "mb").ID, mailbox.OpDelete)
	}
	t.Fatalf("reach: unknown state %s", st)
	return mailbox.Message{}
}

func testEnqueueAndGet(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	m := enqueue(t, s, "mb")
	if m.ID == 0 || m.State != mailbox.StateQueued || m.Direction != mailbox.Out || m.Attempts != 0 ||
		!m.NextAttemptAt.Equal(T0) || !m.CreatedAt.Equal(T0) || m.OSCIMessageID != "" || m.Size != 101 {
		t.Fatalf("enqueued message: %+v", m)
	}
	if len(m.Documents) != 1 || m.Documents[0] != doc("Klage.pdf", 1) {
		t.Fatalf("documents: %+v", m.Documents)
	}
	if m.ContentSHA256 != mailbox.ContentDigest(m.Documents) {
		t.Fatalf("content hash %s", m.ContentSHA256)
	}
	if _, err := s.Get(ctx, m.ID+100); !errors.Is(err, mailbox.ErrNotFound) {
		t.Fatalf("Get missing: %v, want ErrNotFound", err)
	}
	if _, err := s.Enqueue(ctx, mailbox.NewOutgoing{Mailbox: "mb", Recipient: "r", Now: T0}); !errors.Is(err, mailbox.ErrInvalidInput) {
		t.Fatalf("Enqueue without documents: %v, want ErrInvalidInput", err)
	}
	evs, err := s.Events(ctx, 0, 10)
	if err != nil || len(evs) != 1 || evs[0].Kind != "enqueued" || evs[0].MessageID != m.ID {
		t.Fatalf("journal after enqueue: %+v %v", evs, err)
	}
}

func testConcurrentClaims(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	ClaimConcurrently(t, []mailbox.Store{s, s, s, s}, 60, 3)
}

// testClaimsAcrossStores: two stores on one database (the daemon and the
// operator CLI, or two gateways) claim concurrently; no row goes to both.
func testClaimsAcrossStores(t *testing.T, open Opener) {
	dir := t.TempDir()
	a, b := open(t, dir), open(t, dir)
	ClaimConcurrently(t, []mailbox.Store{a, b, a, b}, 80, 2)
}

// ClaimConcurrently enqueues n outgoing messages through stores[0], then
// lets one worker per entry of stores claim them, batch at a time, until
// none is due; the test fails unless every message was claimed exactly
// once. Several entries may be one store, or stores on one database.
func ClaimConcurrently(t *testing.T, stores []mailbox.Store, n, batch int) {
	t.Helper()
	for i := 0; i < n; i++ {
		enqueue(t, stores[0], "mb")
	}
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	for w, s := range stores {
		owner := fmt.Sprintf("worker%d", w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ms, err := s.ClaimDue(ctx, mailbox.Out, T0, owner, time.Hour, batch)
				if err != nil {
					t.Errorf("%s: %v", owner, err)
					return
				}
				if len(ms) == 0 {
					return
				}
				mu.Lock()
				for _, m := range ms {
					if prev, dup := seen[m.ID]; dup {
						t.Errorf("message %d claimed by %s and %s", m.ID, prev, owner)
					}
					seen[m.ID] = owner
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("claimed %d distinct messages, want %d", len(seen), n)
	}
}

func testClaimOrder(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	a, b := enqueue(t, s, "mb"), enqueue(t, s, "mb")
	a = claim(t, s, mailbox.Out, a.ID, T0)
	apply(t, s, a, mailbox.Change{To: mailbox.StateQueued, Next: T0.Add(time.Hour)})
	ms, err := s.ClaimDue(ctx, mailbox.Out, T0.Add(30*time.Second), "w2", time.Minute, 10)
	if err != nil || len(ms) != 0 {
		t.Fatalf("b is leased, a deferred: claimed %d (%v), want 0", len(ms), err)
	}
	ms, err = s.ClaimDue(ctx, mailbox.In, T0.Add(2*time.Hour), "w2", time.Minute, 10)
	if err != nil || len(ms) != 0 {
		t.Fatalf("incoming claim took outgoing rows: %d (%v)", len(ms), err)
	}
	ms, err = s.ClaimDue(ctx, mailbox.Out, T0.Add(2*time.Hour), "w2", time.Minute, 10)
	if err != nil || len(ms) != 2 || ms[0].ID != a.ID || ms[1].ID != b.ID || ms[0].Attempts != 2 || ms[1].Attempts != 2 {
		t.Fatalf("claim after both due: %+v (%v)", ms, err)
	}
	if _, err := s.ClaimDue(ctx, mailbox.Out, T0, "", time.Minute, 1); !errors.Is(err, mailbox.ErrInvalidInput) {
		t.Fatalf("claim without owner: %v, want ErrInvalidInput", err)
	}
}
