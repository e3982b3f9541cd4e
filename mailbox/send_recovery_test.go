package mailbox_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// TestSendMessageIDDurableBeforeStoreDelivery looks at the database from
// a second connection at the moment the request reaches the peer.
func TestSendMessageIDDurableBeforeStoreDelivery(t *testing.T) {
	e := newEnv(t)
	f := newFake(e.clk.Now)
	other, err := sqlite.Open(ctx, filepath.Join(e.dir, sqlite.FileName), sqlite.Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	m := submit(t, e, "x")
	seen := mailbox.Message{}
	s := newSender(e, f)
	s.Transport = func(mailbox.Message) (mailbox.Transport, error) { return observing{f, other, &seen}, nil }
	run(t, s)
	if seen.State != mailbox.StateSending || seen.OSCIMessageID != "govapp_0001" || seen.ID != m.ID {
		t.Fatalf("at storeDelivery the database held %+v", seen)
	}
	want := []string{"enqueued", "state:id_assigned", "state:sending", "state:sent"}
	if got := e.kinds(t, m.ID); len(got) != len(want) || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Fatalf("journal %v, want %v", got, want)
	}
}

type observing struct {
	*fakeIntermediary
	db   mailbox.Store
	seen *mailbox.Message
}

func (o observing) StoreDelivery(c ctxT, d *mailbox.OutgoingDelivery) (mailbox.ProcessCard, error) {
	m, err := o.db.GetByOSCIMessageID(c, mailbox.Out, d.Mailbox, d.MessageID)
	if err == nil {
		*o.seen = m
	}
	return o.fakeIntermediary.StoreDelivery(c, d)
}

// TestSendRecovery restarts the engine from each state a crash can leave.
func TestSendRecovery(t *testing.T) {
	tests := []struct {
		name      string
		crashIn   mailbox.State
		peerGotIt bool
		wantCalls string
	}{
		{"crash after MessageId stored", mailbox.StateIDAssigned, false, "storeDelivery govapp_0001"},
		{"crash while sending, peer accepted", mailbox.StateSending, true, "fetchProcessCard govapp_0001"},
		{"crash while sending, peer did not get it", mailbox.StateSending, false, "fetchProcessCard govapp_0001; storeDelivery govapp_0001"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			f := newFake(e.clk.Now)
			m := submit(t, e, "body")
			// Replay what the engine does up to the crash.
			id, _ := f.GetMessageID(ctx)
			ms, err := e.store.ClaimDue(ctx, mailbox.Out, e.clk.Now(), "dead-process", time.Minute, 1)
			if err != nil || len(ms) != 1 {
				t.Fatal(ms, err)
			}
			c := mailbox.Change{ID: m.ID, Owner: "dead-process", Token: ms[0].LeaseToken, To: mailbox.StateIDAssigned, OSCIMessageID: id, KeepLease: true, Next: e.clk.Now()}
			if _, err := e.store.Apply(ctx, c); err != nil {
				t.Fatal(err)
			}
			if tc.crashIn == mailbox.StateSending {
				c.To = mailbox.StateSending
				if _, err := e.store.Apply(ctx, c); err != nil {
					t.Fatal(err)
				}
				if tc.peerGotIt {
					got := e.get(t, m.ID)
					d := &mailbox.OutgoingDelivery{MessageID: id, Mailbox: got.Mailbox, Documents: nil}
					f.StoreDelivery(ctx, d)
				}
			}
			f.transcript = nil
			e.reopen(t)
			e.clk.Add(2 * time.Minute) // the dead process's lease has run out
			run(t, newSender(e, f))
			if got := f.calls(); got != tc.wantCalls {
				t.Fatalf("transcript\n got %s\nwant %s", got, tc.wantCalls)
			}
			got := e.get(t, m.ID)
			if got.State != mailbox.StateSent || got.OSCIMessageID != id || f.accepted[id] != 1 {
				t.Fatalf("after recovery: %s %s accepted=%d", got.State, got.OSCIMessageID, f.accepted[id])
			}
		})
	}
}

func TestSendConfirmation(t *testing.T) {
	e := newEnv(t)
	f := newFake(e.clk.Now)
	s := newSender(e, f)
	m := submit(t, e, "x")
	run(t, s)
	sent := e.get(t, m.ID)
	if sent.State != mailbox.StateSent || !sent.NextAttemptAt.Equal(e.clk.Now().Add(5*time.Minute)) {
		t.Fatalf("sent: %s next %v", sent.State, sent.NextAttemptAt)
	}
	e.clk.Add(6 * time.Minute)
	run(t, s) // no Reception yet: poll again later
	if got := e.get(t, m.ID); got.State != mailbox.StateSent || !got.NextAttemptAt.After(e.clk.Now()) {
		t.Fatalf("after first poll: %+v", got)
	}
	f.received[sent.OSCIMessageID] = e.clk.Now()
	e.clk.Add(time.Hour)
	run(t, s)
	got := e.get(t, m.ID)
	card, _ := e.store.ProcessCard(ctx, m.ID)
	if got.State != mailbox.StateConfirmed || card.Reception.IsZero() || got.FinalizedAt.IsZero() {
		t.Fatalf("confirmed: %+v card %+v", got, card)
	}
	// Confirmed messages are not claimed again.
	e.clk.Add(24 * time.Hour)
	f.transcript = nil
	run(t, s)
	if c := f.calls(); c != "" {
		t.Fatalf("confirmed message polled: %s", c)
	}
}

// slowPeer holds storeDelivery open until released, like a large upload.
type slowPeer struct {
	*fakeIntermediary
	started, release chan struct{}
}

func (p slowPeer) StoreDelivery(c ctxT, d *mailbox.OutgoingDelivery) (mailbox.ProcessCard, error) {
	close(p.started)
	<-p.release
	return p.fakeIntermediary.StoreDelivery(c, d)
}

// TestSendLeaseRenewedDuringUpload: a send that outlasts its lease keeps
// it, so a second worker cannot claim the message and send it again.
func TestSendLeaseRenewedDuringUpload(t *testing.T) {
	e := newEnv(t)
	f := newFake(time.Now)
	peer := slowPeer{f, make(chan struct{}), make(chan struct{})}
	s := newSender(e, f)
	s.Now, s.Lease = time.Now, 300*time.Millisecond
	s.Transport = func(mailbox.Message) (mailbox.Transport, error) { return peer, nil }
	m, err := mailbox.Submit(ctx, e.store, e.blobs, mailbox.NewOutgoing{Mailbox: "mb", Recipient: "court", Subject: "big", Now: time.Now()}, []mailbox.Part{{Name: "a.pdf", Body: stringsReader("a")}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { _, err := s.RunOnce(ctx); done <- err }()
	<-peer.started
	time.Sleep(4 * s.Lease)
	ms, err := e.store.ClaimDue(ctx, mailbox.Out, time.Now(), "second-worker", time.Minute, 10)
	if err != nil || len(ms) != 0 {
		t.Fatalf("second worker claimed %d during the upload (%v)", len(ms), err)
	}
	close(peer.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := e.get(t, m.ID); got.State != mailbox.StateSent || f.accepted[got.OSCIMessageID] != 1 {
		t.Fatalf("after upload: %s", got.State)
	}
}
func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

// TestSendStaleLeaseNeverSends: a worker whose lease on a message ran out
// while it was busy with another one, and which another worker has
// claimed since, must not send that message.
func TestSendStaleLeaseNeverSends(t *testing.T) {
	e := newEnv(t)
	f := newFake(time.Now)
	peer := slowPeer{f, make(chan struct{}), make(chan struct{})}
	a, err := mailbox.Submit(ctx, e.store, e.blobs, mailbox.NewOutgoing{Mailbox: "mb", Recipient: "court", Subject: "a", Now: time.Now()}, []mailbox.Part{{Name: "a.pdf", Body: stringsReader("a")}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := mailbox.Submit(ctx, e.store, e.blobs, mailbox.NewOutgoing{Mailbox: "mb", Recipient: "court", Subject: "b", Now: time.Now()}, []mailbox.Part{{Name: "b.pdf", Body: stringsReader("b")}})
	if err != nil {
		t.Fatal(err)
	}
	// b was left in sending by a process that died (outcome unknown).
	bid, _ := f.GetMessageID(ctx)
	ms, _ := e.store.ClaimDue(ctx, mailbox.Out, time.Now(), "dead", time.Millisecond, 10)
	for _, m := range ms {
		if m.ID == b.ID {
			for _, to := range []mailbox.State{mailbox.StateIDAssigned, mailbox.StateSending} {
				m, err = e.store.Apply(ctx, mailbox.Change{ID: m.ID, Owner: "dead", Token: m.LeaseToken, To: to, OSCIMessageID: bid, KeepLease: true, Next: time.Now()})
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	time.Sleep(5 * time.Millisecond)
	s := newSender(e, f)
	s.Now, s.Lease, s.Batch = time.Now, 300*time.Millisecond, 2
	s.Transport = func(mailbox.Message) (mailbox.Transport, error) { return peer, nil }
	done := make(chan error)
	go func() { _, err := s.RunOnce(ctx); done <- err }() // claims a and b, blocks on a
	<-peer.started
	time.Sleep(3 * s.Lease) // b's lease runs out; a's is renewed
	taken, err := e.store.ClaimDue(ctx, mailbox.Out, time.Now(), "worker-2", time.Hour, 10)
	if err != nil || len(taken) != 1 || taken[0].ID != b.ID {
		t.Fatalf("second worker claimed %+v (%v), want only b", taken, err)
	}
	f.mu.Lock()
	f.transcript = nil
	f.mu.Unlock()
	close(peer.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c := f.calls(); c != "storeDelivery govapp_0002; fetchProcessCard "+bid {
		t.Fatalf("transcript %q: the stale worker must not send b", c)
	}
	if got := e.get(t, a.ID); got.State != mailbox.StateSent {
		t.Fatalf("a: %s", got.State)
	}
	if got := e.get(t, b.ID); got.State != mailbox.StateSending || got.LeaseOwner != "worker-2" {
		t.Fatalf("b: %s owned by %s", got.State, got.LeaseOwner)
	}
}

// diskFull is the store with a full disk: claims still fit (a small
// update in a WAL that has room), every other write fails until ok is set.
type diskFull struct {
	mailbox.Store
	ok bool
}

var errFull = errors.New("database or disk is full")

func (s *diskFull) Apply(ctx context.Context, c mailbox.Change) (mailbox.Message, error) {
	if !s.ok {
		return mailbox.Message{}, errFull
	}
	return s.Store.Apply(ctx, c)
}

func (s *diskFull) ExtendLease(ctx context.Context, id int64, owner string, token int64, until time.Time) error {
	if !s.ok {
		return errFull
	}
	return s.Store.ExtendLease(ctx, id, owner, token, until)
}

// TestSendRoundFailureEndsLeases: when the store fails mid-round, even
// the ending of the leases may fail; the worker keeps them, claims
// nothing while the store still refuses writes, and once it accepts them
// again the next round ends the leases and takes the message at once,
// not when its lease runs out.
func TestSendRoundFailureEndsLeases(t *testing.T) {
	e := newEnv(t)
	f := newFake(e.clk.Now)
	m := submit(t, e, "%PDF disk full")
	full := &diskFull{Store: e.store}
	var stale mailbox.StaleLeases
	round := func() (int, error) {
		s := newSender(e, f) // a fresh engine per round, as the daemon makes them
		s.Lease, s.Store, s.Stale = time.Hour, full, &stale
		return s.RunOnce(ctx)
	}
	if _, err := round(); err == nil {
		t.Fatal("round with a full disk reported no error")
	}
	e.clk.Add(time.Second)
	if n, err := round(); err == nil || n != 0 {
		t.Fatalf("round while still full: claimed %d (%v), want nothing and the store error", n, err)
	}
	full.ok = true
	e.clk.Add(time.Second)
	if n, err := round(); err != nil || n != 1 {
		t.Fatalf("first round after space returned claimed %d (%v), want the message at once", n, err)
	}
	if got := e.get(t, m.ID); got.State != mailbox.StateSent {
		t.Fatalf("state %s, want sent", got.State)
	}
}
