package mailbox

import (
	"io"
	"time"
)

// FirstPollRate is how many first polls a second the mailboxes of one
// gateway start with: a few mailboxes poll at once, so that a restarted
// gateway resumes fetching without delay; 500 spread over ten seconds.
const FirstPollRate = 50

// PollDelay is the wait before a mailbox's next poll, for a gateway with
// the given number of mailboxes. The first is uniform over
// min(interval, mailboxes/FirstPollRate seconds), so that mailboxes
// started together do not poll the intermediary all at once; each later
// one is the interval moved by up to a tenth either way, so that they
// spread further and stay spread (on average they poll at the interval).
// rnd is the injected randomness; without it the delay is the upper bound.
func PollDelay(interval time.Duration, first bool, mailboxes int, rnd io.Reader) time.Duration {
	base, span := interval-interval/10, interval/5
	if first {
		base, span = 0, min(interval, time.Duration(mailboxes)*time.Second/FirstPollRate)
	}
	if span <= 0 {
		return base
	}
	return base + RetryPolicy{Initial: span, Factor: 1, Max: span, Jitter: FullJitter}.Delay(1, rnd)
}
