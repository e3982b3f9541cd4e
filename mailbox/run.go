package mailbox

import (
	"context"
	"time"
)

// runLoop calls once until ctx ends, waiting idle whenever a round found
// nothing to do. It returns ctx.Err() or the first store failure.
func runLoop(ctx context.Context, idle time.Duration, once func(context.Context) (int, error)) error {
	if idle <= 0 {
		idle = time.Second
	}
	for {
		n, err := once(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if n > 0 {
			continue
		}
		t := time.NewTimer(idle)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Run sends until ctx ends, polling for due messages every idle when there
// is nothing to do. A store failure (disk full, I/O error) ends it with
// that error; the caller decides between waiting and exiting.
func (s *Sender) Run(ctx context.Context, idle time.Duration) error {
	return runLoop(ctx, idle, s.RunOnce)
}

// Run hands messages to the intake until ctx ends; see Sender.Run.
func (d *Deliverer) Run(ctx context.Context, idle time.Duration) error {
	return runLoop(ctx, idle, d.RunOnce)
}
