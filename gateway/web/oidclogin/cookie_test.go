package oidclogin

import (
	"errors"
	"testing"
	"time"
)

func TestUsedStatesBounded(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	u := usedStates{max: 2}
	exp := now.Add(DefaultLoginTTL)
	for _, s := range []string{"a", "b"} {
		if err := u.claim(s, exp, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := u.claim("a", exp, now); !errors.Is(err, ErrStateReplayed) {
		t.Fatalf("replay: %v", err)
	}
	if err := u.claim("c", exp, now); !errors.Is(err, ErrBusy) || !Temporary(err) {
		t.Fatalf("full: %v", err)
	}
	// Once the cookies of a and b have expired, their states are
	// forgotten: a callback with them fails on the cookie already.
	if err := u.claim("c", exp.Add(time.Second), exp); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if len(u.seen) != 1 {
		t.Fatalf("remembered %d states, want 1", len(u.seen))
	}
}
