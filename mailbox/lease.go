package mailbox

import (
	"context"
	"errors"
	"time"
)

// withLease runs fn while renewing the lease on m every third of lease, so
// a long upload or hand-over is not claimed by a second worker meanwhile.
// When the lease is lost (an operator acted, or the renewal came too late
// and another worker claimed the message) fn's context is cancelled.
//
// The lease is renewed once before fn starts: that fenced write proves the
// caller still holds the message, so a worker whose lease ran out while
// it was busy elsewhere never sends what another worker now owns.
func withLease(ctx context.Context, st Store, m Message, owner string, lease time.Duration, now func() time.Time, fn func(context.Context) error) error {
	if err := st.ExtendLease(ctx, m.ID, owner, m.LeaseToken, now().Add(lease)); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				err := st.ExtendLease(ctx, m.ID, owner, m.LeaseToken, now().Add(lease))
				if errors.Is(err, ErrLeaseLost) {
					cancel()
					return
				}
				// Other store errors: try again at the next tick; the lease
				// still runs and the work may finish before it ends.
			}
		}
	}()
	err := fn(ctx)
	close(done)
	<-stopped
	return err
}

// endLeases ends the leases of claimed messages a round could not work
// through because the store failed (e.g. the disk is full), so that the
// next round takes them as soon as the store works again instead of
// waiting for the leases to run out. Best effort: if the store still
// fails, the leases expire on their own. A message whose last step
// released its lease is left alone by the fenced write.
func endLeases(ctx context.Context, st Store, owner string, now time.Time, ms []Message) {
	for _, m := range ms {
		_ = st.ExtendLease(ctx, m.ID, owner, m.LeaseToken, now)
	}
}
