package mailbox

import (
	"context"
	"errors"
	"sync"
	"time"
)

// withLease runs fn while renewing the lease on m every third of lease, so
// a long upload or hand-over is not claimed by a second worker meanwhile.
// When the lease is lost (an operator acted, or the renewal came too late
// and another worker claimed the message) fn's context is cancelled.
//
// The lease is renewed once before fn starts: that fenced write proves the
// caller still holds the message, so a worker whose lease ran out while
// it was busy elsewhere never sends what another worker now owns. When
// the caller made such a write itself just before (proven: m is what its
// step returned) and the lease has at least freshLease of its length
// left, that step is the proof, and the first renewal comes when two
// thirds of the lease are left, as it does a third of a lease after one.
func withLease(ctx context.Context, st Store, m Message, owner string, lease time.Duration, now func() time.Time, proven bool, fn func(context.Context) error) error {
	first := lease / 3
	if left := m.LeaseUntil.Sub(now()); proven && left >= lease*freshLease/6 {
		first = left - lease*2/3
	} else if err := st.ExtendLease(ctx, m.ID, owner, m.LeaseToken, now().Add(lease)); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTimer(first)
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
				t.Reset(lease / 3)
			}
		}
	}()
	err := fn(ctx)
	close(done)
	<-stopped
	return err
}

// freshLease, in sixths of the lease, is how much of it must be left for
// a step just made to stand in for the renewal before the work starts.
const freshLease = 5

// StaleLeases remembers the leases a worker could not end after its round
// failed on the store (on a full disk even that small write can fail).
// A worker keeps one across rounds and passes it to every round; the next
// round ends them first, before it claims anything, so the messages are
// taken again as soon as the store accepts writes instead of when their
// leases run out. The zero value is ready; it is safe for concurrent use.
type StaleLeases struct {
	mu sync.Mutex
	ms []Message
}

// end tries to end every remembered lease at now. Leases that are ended
// or already lost (another worker or an operator acted) are forgotten; it
// returns the first store error, with the rest kept for the next try.
func (l *StaleLeases) end(ctx context.Context, st Store, owner string, now time.Time) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var keep []Message
	var first error
	for _, m := range l.ms {
		if err := st.ExtendLease(ctx, m.ID, owner, m.LeaseToken, now); err != nil && !isLeaseLost(err) {
			keep = append(keep, m)
			if first == nil {
				first = err
			}
		}
	}
	l.ms = keep
	return first
}

func (l *StaleLeases) add(m Message) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.ms = append(l.ms, m)
	l.mu.Unlock()
}

// leaseRound is one round of an engine that works under leases (Sender,
// Deliverer): it claims due messages of one direction and processes them,
// started in claim order within a lane (up to width at once) and the lanes
// side by side.
type leaseRound struct {
	store Store
	dir   Direction
	owner string
	lease time.Duration
	batch int
	now   func() time.Time
	stale *StaleLeases
	// lane names the lane of a message (nil: one lane). A lane waiting on
	// a slow peer holds up only its own messages of the round.
	lane func(Message) string
	// width is how many messages of one lane are in flight at once
	// (default 1: one after another). They start in claim order.
	width int // prepare, if set, runs first in each lane with the lane's messages
	// (the send engine fetches the process cards of a lane's sent
	// messages in one request).
	prepare func(ctx context.Context, lane []Message)
}

// maxLanes bounds the lanes a round works on at once.
const maxLanes = 8

// run works through one batch and returns how many messages it claimed.
// Leases a failed round could not end come first; while the store still
// refuses writes, nothing new is claimed. When process fails (the store
// failed), the leases of that lane's messages not yet done are ended, the
// other lanes finish what they are doing and stop too, and the round
// returns the first error.
func (r leaseRound) run(ctx context.Context, process func(context.Context, Message) error) (int, error) {
	if err := r.stale.end(ctx, r.store, r.owner, r.now()); err != nil {
		return 0, err
	}
	ms, err := r.store.ClaimDue(ctx, r.dir, r.now(), r.owner, r.lease, r.batch)
	if err != nil {
		return 0, err
	}
	var lanes [][]Message
	index := map[string]int{}
	for _, m := range ms {
		name := ""
		if r.lane != nil {
			name = r.lane(m)
		}
		i, ok := index[name]
		if !ok {
			i = len(lanes)
			index[name] = i
			lanes = append(lanes, nil)
		}
		lanes[i] = append(lanes[i], m)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		first  error
		failed bool
		slots  = make(chan struct{}, maxLanes)
	)
	stopped := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return failed
	}
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first, failed = err, true
		}
		mu.Unlock()
	}
	for _, lane := range lanes {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			r.runLane(ctx, lane, process, stopped, fail)
		}()
	}
	wg.Wait()
	return len(ms), first
}

// runLane works through the messages of one lane, starting them in claim
// order with up to width of them in flight. When process fails, or
// another lane failed (stopped), nothing more is started and the leases of
// the messages not worked on are ended.
func (r leaseRound) runLane(ctx context.Context, lane []Message, process func(context.Context, Message) error, stopped func() bool, fail func(error)) {
	var (
		mu   sync.Mutex
		next int
		wg   sync.WaitGroup
	)
	// take hands out the next message, or with rest all that are left.
	take := func(rest bool) []Message {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(lane) {
			return nil
		}
		if rest {
			ms := lane[next:]
			next = len(lane)
			return ms
		}
		next++
		return lane[next-1 : next]
	}
	if r.prepare != nil && !stopped() {
		r.prepare(ctx, lane)
	}
	width := min(max(r.width, 1), len(lane))
	for range width {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ms := take(false)
				if ms == nil {
					return
				}
				if stopped() {
					endLeases(ctx, r.store, r.owner, r.now(), append([]Message{ms[0]}, take(true)...), r.stale)
					return
				}
				if err := process(ctx, ms[0]); err != nil {
					fail(err)
					endLeases(ctx, r.store, r.owner, r.now(), append([]Message{ms[0]}, take(true)...), r.stale)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// endLeases ends the leases of claimed messages a round could not work
// through because the store failed (e.g. the disk is full), so that the
// next round takes them as soon as the store works again instead of
// waiting for the leases to run out. A lease whose ending fails as well is
// handed to stale for the next round. A message whose last step released
// its lease is left alone by the fenced write.
func endLeases(ctx context.Context, st Store, owner string, now time.Time, ms []Message, stale *StaleLeases) {
	for _, m := range ms {
		if err := st.ExtendLease(ctx, m.ID, owner, m.LeaseToken, now); err != nil && !isLeaseLost(err) {
			stale.add(m)
		}
	}
}
