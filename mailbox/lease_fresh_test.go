package mailbox_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// renewalCounter is the real store, counting lease renewals.
type renewalCounter struct {
	mailbox.Store
	n atomic.Int32
}

func (s *renewalCounter) ExtendLease(ctx context.Context, id int64, owner string, token int64, until time.Time) error {
	s.n.Add(1)
	return s.Store.ExtendLease(ctx, id, owner, token, until)
}

// TestFreshStepStandsInForTheFirstRenewal: a message sent right after its
// claim and its step to sending goes out without a further renewal of its
// lease, the step being the fenced write that proves the worker holds it;
// one whose lease is mostly used up by then is renewed before the request.
func TestFreshStepStandsInForTheFirstRenewal(t *testing.T) {
	for _, tc := range []struct {
		name    string
		step    time.Duration // the clock's advance per reading
		renewed bool
	}{
		{"fresh", 0, false},
		{"lease mostly used", 20 * time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			id := submit(t, e, "Antrag").ID
			st := &renewalCounter{Store: e.store}
			s := newSender(e, newFake(e.clk.Now))
			s.Store = st
			e.clk.Step = tc.step
			_, err := s.RunOnce(ctx)
			e.clk.Step = 0
			if err != nil {
				t.Fatal(err)
			}
			if m := e.get(t, id); m.State != mailbox.StateSent {
				t.Fatalf("state %s, want sent", m.State)
			}
			if got := st.n.Load() > 0; got != tc.renewed {
				t.Errorf("%d renewals before the request, want renewed=%v", st.n.Load(), tc.renewed)
			}
		})
	}
}
