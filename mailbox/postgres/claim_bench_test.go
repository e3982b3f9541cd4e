package postgres

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// BenchmarkClaim measures the claim throughput of one, two and three
// gateways on one database: each runs one engine loop that claims due
// outgoing messages in batches of 16 (FOR UPDATE SKIP LOCKED). In "claim"
// that is all; in "finish" each claimed message then gets the engine's
// last write, fenced and journaled (Apply to failed, as a permanent
// refusal does), which also moves the gateway's journal head file
// (written and fsync'd after each commit that appended entries). One op
// is one message. The test server runs with fsync off: the figures
// compare node counts; they are not a disk's commit rate.
func BenchmarkClaim(b *testing.B) {
	for _, finish := range []bool{false, true} {
		for _, n := range []int{1, 2, 3} {
			name := "claim"
			if finish {
				name = "finish"
			}
			b.Run(fmt.Sprintf("%s/nodes=%d", name, n), func(b *testing.B) { benchClaim(b, n, finish) })
		}
	}
}

func benchClaim(b *testing.B, n int, finish bool) {
	ns := nodes(b, n)
	// The backlog, inserted in one statement: only the claims count.
	now := time.Now().UTC()
	if _, err := ns[0].pool.Exec(ctx, `INSERT INTO messages (direction, mailbox, state, next_attempt_at, content_sha256, size, subject, sender, recipient, meta, created_at, updated_at)
		SELECT 'out', 'mb', 'queued', $1, 'x', 1, 's', 'mb', 'court', '', $1, $1 FROM generate_series(1, $2)`, now.UnixNano(), b.N); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	claimed := make([]int, n)
	for i, s := range ns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("node%d/send", i)
			for {
				ms, err := s.ClaimDue(ctx, mailbox.Out, time.Now(), owner, time.Hour, 16)
				if err != nil {
					b.Error(err)
					return
				}
				if len(ms) == 0 {
					return
				}
				claimed[i] += len(ms)
				if !finish {
					continue
				}
				for _, m := range ms {
					if _, err := s.Apply(ctx, mailbox.Change{ID: m.ID, Owner: owner, Token: m.LeaseToken, To: mailbox.StateFailed, ErrCode: "bench", Now: time.Now()}); err != nil {
						b.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	total := 0
	for _, c := range claimed {
		total += c
	}
	if total != b.N {
		b.Fatalf("claimed %d of %d (per node %v)", total, b.N, claimed)
	}
	b.ReportMetric(float64(total)/el.Seconds(), "msgs/s")
}
