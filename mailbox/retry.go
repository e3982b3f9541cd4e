package mailbox

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// Jitter says how a retry delay is randomised.
type Jitter int

const (
	NoJitter    Jitter = iota // the computed delay exactly
	FullJitter                // uniform in [0, d]
	EqualJitter               // d/2 plus uniform in [0, d/2]
)

// RetryPolicy is a capped exponential backoff. Attempt n (1-based) waits
// Initial·Factor^(n-1), capped at Max, then jittered. A message is given up
// when MaxTries attempts were made or Lifetime has passed since it was
// queued, whichever comes first (zero disables either bound).
type RetryPolicy struct {
	Initial  time.Duration
	Factor   float64
	Max      time.Duration
	MaxTries int
	Lifetime time.Duration
	Jitter   Jitter
}

// DefaultSendPolicy retries a temporary failure after 1, 2, 4 … minutes,
// at most every 30 minutes, for up to two days (Postfix-like, shorter
// because court deadlines run in days).
func DefaultSendPolicy() RetryPolicy {
	return RetryPolicy{Initial: time.Minute, Factor: 2, Max: 30 * time.Minute, Lifetime: 48 * time.Hour, Jitter: EqualJitter}
}

// DefaultIntakePolicy retries a failing eAkte hand-over forever, at most
// every 10 minutes: a received court document is never given up.
func DefaultIntakePolicy() RetryPolicy {
	return RetryPolicy{Initial: 10 * time.Second, Factor: 2, Max: 10 * time.Minute, Jitter: EqualJitter}
}

// Validate checks the policy for values that would spin or never retry.
func (p RetryPolicy) Validate() error {
	switch {
	case p.Initial <= 0:
		return fmt.Errorf("%w: retry initial delay must be positive", ErrInvalidInput)
	case p.Factor < 1:
		return fmt.Errorf("%w: retry factor must be at least 1", ErrInvalidInput)
	case p.Max < p.Initial:
		return fmt.Errorf("%w: retry maximum delay below initial delay", ErrInvalidInput)
	case p.MaxTries < 0 || p.Lifetime < 0:
		return fmt.Errorf("%w: negative retry bound", ErrInvalidInput)
	case p.Jitter < NoJitter || p.Jitter > EqualJitter:
		return fmt.Errorf("%w: unknown jitter %d", ErrInvalidInput, p.Jitter)
	}
	return nil
}

// Base returns the delay before jitter after attempt n (n < 1 counts as 1).
func (p RetryPolicy) Base(n int) time.Duration {
	d := p.Initial
	for i := 1; i < n && d < p.Max; i++ {
		next := float64(d) * p.Factor
		if next >= float64(p.Max) {
			d = p.Max
			break
		}
		d = time.Duration(next)
	}
	if d > p.Max {
		d = p.Max
	}
	return d
}

// Delay returns the wait after failed attempt n, jittered with bytes from
// rnd (8 bytes per call). A nil or failing rnd yields the unjittered upper
// bound, never a zero delay that would spin.
func (p RetryPolicy) Delay(n int, rnd io.Reader) time.Duration {
	d := p.Base(n)
	if p.Jitter == NoJitter || rnd == nil {
		return d
	}
	var b [8]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return d
	}
	// 53 random bits give a uniform fraction in [0, 1].
	f := float64(binary.BigEndian.Uint64(b[:])>>11) / float64(1<<53-1)
	switch p.Jitter {
	case FullJitter:
		return time.Duration(f * float64(d))
	case EqualJitter:
		half := d / 2
		return half + time.Duration(f*float64(d-half))
	}
	return d
}

// Exhausted reports whether a message that has made attempts tries since
// queuedAt may not be tried again at now.
func (p RetryPolicy) Exhausted(attempts int, queuedAt, now time.Time) bool {
	if p.MaxTries > 0 && attempts >= p.MaxTries {
		return true
	}
	return p.Lifetime > 0 && now.Sub(queuedAt) >= p.Lifetime
}
