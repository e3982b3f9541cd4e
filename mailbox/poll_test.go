package mailbox_test

import (
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// TestPollDelaySpreadsMailboxes: the first polls of many mailboxes spread
// at FirstPollRate a second (those of a few start at once); later ones
// stay within a tenth of the interval and average out at it, so 500
// mailboxes never poll the intermediary at once.
func TestPollDelaySpreadsMailboxes(t *testing.T) {
	const interval, n = 10 * time.Second, 500 // 500 mailboxes spread over 10 s
	rnd := certstest.DetRand("poll schedule")
	if d := mailbox.PollDelay(time.Hour, true, 2, rnd); d > 40*time.Millisecond {
		t.Fatalf("first poll of one of two mailboxes after %s", d)
	}
	if d := mailbox.PollDelay(time.Second, true, 5000, rnd); d > time.Second {
		t.Fatalf("first poll after %s, beyond the interval", d)
	}
	var buckets [10]int
	for range 1000 {
		d := mailbox.PollDelay(time.Hour, true, n, rnd)
		if d < 0 || d > interval {
			t.Fatalf("first poll after %s", d)
		}
		buckets[min(int(d*10/interval), 9)]++
	}
	for i, c := range buckets {
		if c < 50 || c > 150 { // 100 expected in each tenth
			t.Errorf("first polls in tenth %d of the spread: %d of 1000", i, c)
		}
	}
	var sum time.Duration
	for range 1000 {
		d := mailbox.PollDelay(interval, false, n, rnd)
		if d < interval-interval/10 || d > interval+interval/10 {
			t.Fatalf("later poll after %s", d)
		}
		sum += d
	}
	if mean := sum / 1000; mean < interval-200*time.Millisecond || mean > interval+200*time.Millisecond {
		t.Errorf("later polls average %s, want about %s", mean, interval)
	}
	if d := mailbox.PollDelay(interval, true, 0, rnd); d != 0 {
		t.Errorf("first poll of a gateway without mailboxes after %s", d)
	}
}
