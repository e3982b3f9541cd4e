package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

var allStates = []mailbox.State{
	mailbox.StateQueued, mailbox.StateIDAssigned, mailbox.StateSending, mailbox.StateSent, mailbox.StateConfirmed,
	mailbox.StateFailed, mailbox.StateReceived, mailbox.StateQuarantined, mailbox.StateIntakePending,
	mailbox.StateDelivered, mailbox.StateHeld, mailbox.StateDeleted,
}

// testEngineTransitions tries every target state from every claimable
// state: the allowed ones commit, the others fail with ErrInvalidTransition
// and change nothing.
func testEngineTransitions(t *testing.T, open Opener) {
	n := 0
	for _, dir := range []mailbox.Direction{mailbox.Out, mailbox.In} {
		for _, from := range mailbox.ClaimableStates(dir) {
			for _, to := range allStates {
				n++
				name := fmt.Sprintf("%s/%s→%s", dir, from, to)
				want := mailbox.CheckEngineTransition(0, dir, from, to) == nil
				s := open(t, t.TempDir()) // one store per case: claims take every due row
				m := claim(t, s, dir, reach(t, s, from, n).ID, T0)
				c := mailbox.Change{ID: m.ID, Owner: m.LeaseOwner, Token: m.LeaseToken, To: to, Now: T0.Add(time.Second), Next: T0.Add(time.Minute)}
				if to == mailbox.StateIDAssigned {
					c.OSCIMessageID = fmt.Sprintf("fresh_%d", n)
				}
				if to == mailbox.StateDelivered {
					c.Intake = &mailbox.IntakeRecord{Sink: "folder", Location: "x", ManifestSHA256: "00", DeliveredAt: T0}
				}
				got, err := s.Apply(ctx, c)
				if want {
					if err != nil {
						t.Errorf("%s: %v, want success", name, err)
						continue
					}
					if got.State != to || got.LeaseOwner != "" || !got.UpdatedAt.Equal(c.Now) {
						t.Errorf("%s: got %+v", name, got)
					}
					if mailbox.IsFinal(to) != !got.FinalizedAt.IsZero() {
						t.Errorf("%s: finalized_at %v", name, got.FinalizedAt)
					}
					continue
				}
				if !errors.Is(err, mailbox.ErrInvalidTransition) {
					t.Errorf("%s: %v, want ErrInvalidTransition", name, err)
				}
				after, _ := s.Get(ctx, m.ID)
				if after.State != from || after.LeaseToken != m.LeaseToken {
					t.Errorf("%s: refused change altered the row: %+v", name, after)
				}
			}
		}
	}
}

// testOperatorTransitions runs every operator verb against every state.
func testOperatorTransitions(t *testing.T, open Opener) {
	n := 1000
	type res struct {
		to  mailbox.State
		err error
	}
	expect := func(op mailbox.Op, from mailbox.State) res {
		switch op {
		case mailbox.OpHold:
			switch from {
			case mailbox.StateQueued, mailbox.StateIDAssigned, mailbox.StateFailed, mailbox.StateIntakePending, mailbox.StateReceived:
				return res{to: mailbox.StateHeld}
			}
		case mailbox.OpRelease:
			if from == mailbox.StateHeld {
				return res{to: mailbox.StateQueued}
			}
		case mailbox.OpRequeue:
			switch from {
			case mailbox.StateFailed, mailbox.StateHeld:
				return res{to: mailbox.StateQueued}
			case mailbox.StateQuarantined:
				return res{to: mailbox.StateIntakePending}
			case mailbox.StateQueued, mailbox.StateIDAssigned, mailbox.StateSending, mailbox.StateSent, mailbox.StateIntakePending:
				return res{to: from}
			}
		case mailbox.OpDelete:
			switch from {
			case mailbox.StateQueued, mailbox.StateIDAssigned, mailbox.StateHeld, mailbox.StateFailed, mailbox.StateQuarantined:
				return res{to: mailbox.StateDeleted}
			}
		}
		return res{err: mailbox.ErrInvalidTransition}
	}
	for _, op := range []mailbox.Op{mailbox.OpHold, mailbox.OpRelease, mailbox.OpRequeue, mailbox.OpDelete} {
		for _, from := range allStates {
			n++
			name := fmt.Sprintf("%s from %s", op, from)
			s := open(t, t.TempDir())
			m := reach(t, s, from, n)
			want := expect(op, from)
			now := T0.Add(time.Hour)
			got, err := s.Operate(ctx, mailbox.OperatorAction{ID: m.ID, Op: op, Actor: "alice", Reason: "test", Now: now})
			if want.err != nil {
				if !errors.Is(err, want.err) {
					t.Errorf("%s: %v, want %v", name, err, want.err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if got.State != want.to || got.LeaseToken != m.LeaseToken+1 {
				t.Errorf("%s: state %s token %d, want %s token %d", name, got.State, got.LeaseToken, want.to, m.LeaseToken+1)
			}
			if op == mailbox.OpHold && got.HeldFrom != from {
				t.Errorf("%s: held_from %q", name, got.HeldFrom)
			}
			if op == mailbox.OpRequeue && from == mailbox.StateFailed && (got.OSCIMessageID != "" || got.Attempts != 0) {
				t.Errorf("%s: requeue of failed keeps MessageId %q / attempts %d", name, got.OSCIMessageID, got.Attempts)
			}
			if got.State != mailbox.StateDeleted && got.State != mailbox.StateHeld && got.State != mailbox.StateFailed && !got.NextAttemptAt.Equal(now) {
				t.Errorf("%s: next attempt %v, want now", name, got.NextAttemptAt)
			}
		}
	}
	// A hold returns to exactly where it came from.
	s := open(t, t.TempDir())
	m := reach(t, s, mailbox.StateIDAssigned, 9000)
	h := operate(t, s, m.ID, mailbox.OpHold)
	r, err := s.Operate(ctx, mailbox.OperatorAction{ID: h.ID, Op: mailbox.OpRelease, Actor: "a", Now: T0})
	if err != nil || r.State != mailbox.StateIDAssigned || r.OSCIMessageID != m.OSCIMessageID || r.HeldFrom != "" {
		t.Fatalf("release after hold: %+v %v", r, err)
	}
	if _, err := s.Operate(ctx, mailbox.OperatorAction{ID: 1 << 40, Op: mailbox.OpHold, Now: T0}); !errors.Is(err, mailbox.ErrNotFound) {
		t.Fatalf("operate on missing message: %v, want ErrNotFound", err)
	}
}

// testLeaseFencing: only the current lease holder changes a row, and an
// operator action revokes the lease.
func testLeaseFencing(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	m := claim(t, s, mailbox.Out, enqueue(t, s, "mb").ID, T0)
	cases := []struct {
		name  string
		owner string
		token int64
	}{
		{"wrong owner", "w2", m.LeaseToken},
		{"stale token", m.LeaseOwner, m.LeaseToken - 1},
		{"no owner", "", m.LeaseToken},
	}
	for _, tc := range cases {
		_, err := s.Apply(ctx, mailbox.Change{ID: m.ID, Owner: tc.owner, Token: tc.token, To: mailbox.StateIDAssigned, OSCIMessageID: "x", Now: T0})
		if !errors.Is(err, mailbox.ErrLeaseLost) {
			t.Errorf("%s: %v, want ErrLeaseLost", tc.name, err)
		}
	}
	if _, err := s.Operate(ctx, mailbox.OperatorAction{ID: m.ID, Op: mailbox.OpHold, Actor: "op", Now: T0}); err != nil {
		t.Fatalf("hold of a leased queued message: %v", err)
	}
	if _, err := s.Apply(ctx, mailbox.Change{ID: m.ID, Owner: m.LeaseOwner, Token: m.LeaseToken, To: mailbox.StateIDAssigned, OSCIMessageID: "x", Now: T0}); !errors.Is(err, mailbox.ErrLeaseLost) {
		t.Fatalf("engine step after hold: %v, want ErrLeaseLost", err)
	}
	// A live lease refuses requeue and delete.
	m2 := claim(t, s, mailbox.Out, enqueue(t, s, "mb").ID, T0)
	for _, op := range []mailbox.Op{mailbox.OpRequeue, mailbox.OpDelete} {
		if _, err := s.Operate(ctx, mailbox.OperatorAction{ID: m2.ID, Op: op, Now: T0.Add(time.Second)}); !errors.Is(err, mailbox.ErrBusy) {
			t.Errorf("%s of leased message: %v, want ErrBusy", op, err)
		}
	}
}

// testLeaseExpiry: an expired lease is claimable again with a new token,
// and the old holder is fenced off; RecoverExpired journals what it frees.
func testLeaseExpiry(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	m := claim(t, s, mailbox.Out, enqueue(t, s, "mb").ID, T0)
	if ms, _ := s.ClaimDue(ctx, mailbox.Out, T0.Add(30*time.Second), "w2", time.Minute, 10); len(ms) != 0 {
		t.Fatalf("live lease claimed again")
	}
	// Renewal keeps it from being claimed past its first end.
	if err := s.ExtendLease(ctx, m.ID, m.LeaseOwner, m.LeaseToken, T0.Add(90*time.Second)); err != nil {
		t.Fatalf("ExtendLease: %v", err)
	}
	if ms, _ := s.ClaimDue(ctx, mailbox.Out, T0.Add(70*time.Second), "w2", time.Minute, 10); len(ms) != 0 {
		t.Fatalf("renewed lease claimed")
	}
	for _, bad := range []struct {
		owner string
		token int64
	}{{"w2", m.LeaseToken}, {m.LeaseOwner, m.LeaseToken + 1}, {"", m.LeaseToken}} {
		if err := s.ExtendLease(ctx, m.ID, bad.owner, bad.token, T0.Add(time.Hour)); !errors.Is(err, mailbox.ErrLeaseLost) {
			t.Errorf("ExtendLease by %q/%d: %v, want ErrLeaseLost", bad.owner, bad.token, err)
		}
	}
	ms, err := s.ClaimDue(ctx, mailbox.Out, T0.Add(91*time.Second), "w2", time.Minute, 10)
	if err != nil || len(ms) != 1 || ms[0].LeaseOwner != "w2" || ms[0].LeaseToken != m.LeaseToken+1 || ms[0].Attempts != 2 {
		t.Fatalf("claim after expiry: %+v %v", ms, err)
	}
	if _, err := s.Apply(ctx, mailbox.Change{ID: m.ID, Owner: m.LeaseOwner, Token: m.LeaseToken, To: mailbox.StateFailed, Now: T0}); !errors.Is(err, mailbox.ErrLeaseLost) {
		t.Fatalf("old holder after expiry: %v, want ErrLeaseLost", err)
	}
	got, err := s.RecoverExpired(ctx, T0.Add(3*time.Minute))
	if err != nil || len(got) != 1 || got[0].ID != m.ID || got[0].LeaseOwner != "" || got[0].State != mailbox.StateQueued {
		t.Fatalf("RecoverExpired: %+v %v", got, err)
	}
	if again, _ := s.RecoverExpired(ctx, T0.Add(4*time.Minute)); len(again) != 0 {
		t.Fatalf("RecoverExpired twice freed %d", len(again))
	}
	evs, _ := s.Events(ctx, 0, 100)
	if last := evs[len(evs)-1]; last.Kind != "lease_expired" || last.MessageID != m.ID {
		t.Fatalf("last journal entry %+v, want lease_expired", last)
	}
}
