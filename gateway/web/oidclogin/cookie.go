package oidclogin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// pending is one log-in between the redirect to the provider and its
// callback, carried by the browser in the signed log-in cookie.
type pending struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"` // PKCE code verifier
	Next     string `json:"r"` // local path to return to
	Expires  int64  `json:"e"` // unix seconds
}

// sealer signs and opens log-in cookies with an HMAC-SHA256 key. The
// cookie is not secret from its own browser (the PKCE verifier protects
// against a code stolen elsewhere, not against the user); it must not be
// forgeable or transplantable with another state.
type sealer struct{ key []byte }

func (s sealer) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("oidclogin cookie v1\x00"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

func (s sealer) seal(p pending) string {
	b, _ := json.Marshal(p) // a struct of strings and an int cannot fail
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload))
}

// open returns the pending log-in the value carries if it is ours and
// not expired at now; otherwise ErrLoginCookie.
func (s sealer) open(value string, now time.Time) (pending, error) {
	payload, sig, ok := strings.Cut(value, ".")
	if !ok {
		return pending{}, fmt.Errorf("%w: malformed", ErrLoginCookie)
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(payload)) {
		return pending{}, fmt.Errorf("%w: signature", ErrLoginCookie)
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	var p pending
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	if err != nil {
		return pending{}, fmt.Errorf("%w: %v", ErrLoginCookie, err)
	}
	if !now.Before(time.Unix(p.Expires, 0)) {
		return pending{}, fmt.Errorf("%w: expired", ErrLoginCookie)
	}
	if p.State == "" || p.Nonce == "" || p.Verifier == "" {
		return pending{}, fmt.Errorf("%w: incomplete", ErrLoginCookie)
	}
	return p, nil
}

// randomToken returns n random bytes from r, base64url-encoded: 32 bytes
// give a 43-character PKCE verifier (RFC 7636 4.1) and state and nonce
// no one can guess.
func randomToken(r io.Reader, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("oidclogin: randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// usedStates remembers the states of finished callbacks until their
// cookies expire, so a callback replayed with its cookie is refused even
// before the provider would refuse the spent code. Bounded by max.
type usedStates struct {
	mu   sync.Mutex
	max  int
	seen map[string]time.Time // state → when its cookie expires
}

// claim records state as used; it fails with ErrStateReplayed for a
// state seen before and ErrBusy when max states are remembered.
func (u *usedStates) claim(state string, expires, now time.Time) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.seen == nil {
		u.seen = map[string]time.Time{}
	}
	if _, ok := u.seen[state]; ok {
		return ErrStateReplayed
	}
	if len(u.seen) >= u.max {
		for s, exp := range u.seen {
			if !now.Before(exp) {
				delete(u.seen, s)
			}
		}
		if len(u.seen) >= u.max {
			return ErrBusy
		}
	}
	u.seen[state] = expires
	return nil
}
