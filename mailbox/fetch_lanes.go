package mailbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// LaneMin is how many listed deliveries each further fetch dialog must
// have to be worth its opening (initDialog) and closing (exitDialog)
// orders.
const LaneMin = 4

// lanes is how many dialogs fetch n listed deliveries.
func (f *Fetcher) lanes(n int) int {
	return max(1, min(f.Width, n/LaneMin))
}

// fetchQueue hands out the listed MessageIds, each once, to the dialogs
// of a poll; after stop it hands out none.
type fetchQueue struct {
	mu      sync.Mutex
	ids     []string
	stopped bool
}

func (q *fetchQueue) next() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped || len(q.ids) == 0 {
		return "", false
	}
	id := q.ids[0]
	q.ids = q.ids[1:]
	return id, true
}

func (q *fetchQueue) stop() {
	q.mu.Lock()
	q.stopped = true
	q.mu.Unlock()
}

// fetchLanes fetches the deliveries of q in sess (the dialog that listed
// them) and lanes-1 further dialogs side by side. Each dialog ends as a
// single one does; the first error stops the handing out, the others
// finish the delivery they hold (stored, acknowledged, receipt asked for)
// and end normally. A further dialog that cannot be opened fetches
// nothing and its error is returned; the others take its share.
func (f *Fetcher) fetchLanes(ctx context.Context, sess Session, mailbox string, q *fetchQueue, lanes int, now func() time.Time, wait time.Duration, res FetchResult) (FetchResult, error) {
	results := make([]FetchResult, lanes)
	errs := make([]error, lanes)
	var wg sync.WaitGroup
	for i := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := sess
			if i > 0 {
				var err error
				if s, err = f.Open(ctx, mailbox); err != nil {
					errs[i] = fmt.Errorf("mailbox: open further dialog for %s: %w", mailbox, err)
					return
				}
			}
			errs[i] = f.dialog(ctx, s, mailbox, q, now, wait, &results[i])
		}()
	}
	wg.Wait()
	for _, r := range results {
		res.add(r)
	}
	return res, errors.Join(errs...)
}

// add counts r into res.
func (res *FetchResult) add(r FetchResult) {
	res.Stored += r.Stored
	res.SameContent += r.SameContent
	res.Duplicates += r.Duplicates
	res.Conflicts += r.Conflicts
	res.Parked += r.Parked
	res.Skipped += r.Skipped
	res.Receipts += r.Receipts
	res.ReceiptFailures += r.ReceiptFailures
	res.Left += r.Left
	res.Notices = append(res.Notices, r.Notices...)
}
