package mailbox

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestRetryScheduleTable(t *testing.T) {
	p := RetryPolicy{Initial: time.Minute, Factor: 2, Max: 30 * time.Minute}
	want := []time.Duration{1 * time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 30 * time.Minute, 30 * time.Minute}
	for i, w := range want {
		if got := p.Delay(i+1, nil); got != w {
			t.Errorf("attempt %d: %v, want %v", i+1, got, w)
		}
	}
	tests := []struct {
		name    string
		p       RetryPolicy
		attempt int
		rnd     []byte
		want    time.Duration
	}{
		{"attempt 0 counts as 1", p, 0, nil, time.Minute},
		{"huge attempt stays capped", p, 1 << 30, nil, 30 * time.Minute},
		{"fractional factor exact", RetryPolicy{Initial: 10 * time.Second, Factor: 1.5, Max: time.Hour}, 4, nil, 33750 * time.Millisecond},
		{"factor 1 is constant", RetryPolicy{Initial: 5 * time.Second, Factor: 1, Max: time.Minute}, 9, nil, 5 * time.Second},
		{"full jitter low", RetryPolicy{Initial: time.Minute, Factor: 2, Max: time.Hour, Jitter: FullJitter}, 3, make([]byte, 8), 0},
		{"full jitter high", RetryPolicy{Initial: time.Minute, Factor: 2, Max: time.Hour, Jitter: FullJitter}, 3, bytes.Repeat([]byte{0xff}, 8), 4 * time.Minute},
		{"full jitter half", RetryPolicy{Initial: time.Minute, Factor: 2, Max: time.Hour, Jitter: FullJitter}, 3, []byte{0x80, 0, 0, 0, 0, 0, 0, 0}, 2 * time.Minute},
		{"equal jitter low", RetryPolicy{Initial: time.Minute, Factor: 2, Max: time.Hour, Jitter: EqualJitter}, 3, make([]byte, 8), 2 * time.Minute},
		{"equal jitter high", RetryPolicy{Initial: time.Minute, Factor: 2, Max: time.Hour, Jitter: EqualJitter}, 3, bytes.Repeat([]byte{0xff}, 8), 4 * time.Minute},
		{"equal jitter capped", RetryPolicy{Initial: time.Minute, Factor: 2, Max: 10 * time.Minute, Jitter: EqualJitter}, 20, bytes.Repeat([]byte{0xff}, 8), 10 * time.Minute},
		{"jitter without randomness is the upper bound", RetryPolicy{Initial: time.Minute, Factor: 2, Max: time.Hour, Jitter: FullJitter}, 2, []byte{1, 2}, 2 * time.Minute},
	}
	for _, tc := range tests {
		var got time.Duration
		if tc.rnd == nil {
			got = tc.p.Delay(tc.attempt, nil)
		} else {
			got = tc.p.Delay(tc.attempt, bytes.NewReader(tc.rnd))
		}
		// The 53-bit fraction of 0x80… is 2^52/(2^53-1), a hair above 1/2.
		if diff := got - tc.want; diff < -time.Microsecond || diff > time.Microsecond {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRetryDefaultSchedule(t *testing.T) {
	p := DefaultSendPolicy()
	p.Jitter = NoJitter
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 30 * time.Minute}
	for i, w := range want {
		if got := p.Delay(i+1, nil); got != w {
			t.Errorf("attempt %d: %v, want %v", i+1, got, w)
		}
	}
	if err := DefaultSendPolicy().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := DefaultIntakePolicy().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestRetryExhausted(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		p        RetryPolicy
		attempts int
		age      time.Duration
		want     bool
	}{
		{"tries left", RetryPolicy{MaxTries: 3}, 2, 0, false},
		{"tries used", RetryPolicy{MaxTries: 3}, 3, 0, true},
		{"lifetime left", RetryPolicy{Lifetime: time.Hour}, 100, 59 * time.Minute, false},
		{"lifetime over", RetryPolicy{Lifetime: time.Hour}, 1, time.Hour, true},
		{"unbounded", RetryPolicy{}, 1 << 20, 1000 * time.Hour, false},
	}
	for _, tc := range tests {
		if got := tc.p.Exhausted(tc.attempts, t0, t0.Add(tc.age)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRetryValidate(t *testing.T) {
	tests := []struct {
		name string
		p    RetryPolicy
	}{
		{"zero initial", RetryPolicy{Factor: 2, Max: time.Minute}},
		{"shrinking", RetryPolicy{Initial: time.Second, Factor: 0.5, Max: time.Minute}},
		{"max below initial", RetryPolicy{Initial: time.Minute, Factor: 2, Max: time.Second}},
		{"negative tries", RetryPolicy{Initial: time.Second, Factor: 2, Max: time.Minute, MaxTries: -1}},
		{"unknown jitter", RetryPolicy{Initial: time.Second, Factor: 2, Max: time.Minute, Jitter: 7}},
	}
	for _, tc := range tests {
		if err := tc.p.Validate(); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: %v, want ErrInvalidInput", tc.name, err)
		}
	}
}
