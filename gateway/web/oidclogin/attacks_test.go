package oidclogin

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
)

// Each test plays one attack or one broken provider and asserts the
// exact reason the log-in is refused; no session is ever started.

// refusedWith runs one log-in to the callback and asserts it fails with want.
func refusedWith(t *testing.T, h *harness, want error) {
	t.Helper()
	u, err := h.callback(h.callbackURL(), h.loginCookie())
	if !errors.Is(err, want) {
		t.Fatalf("got %+v, %v; want %v", u, err, want)
	}
	for _, other := range []error{ErrLoginCookie, ErrState, ErrStateReplayed, ErrDenied, ErrIssuer, ErrAudience,
		ErrExpired, ErrSignature, ErrNonce, ErrIDToken, ErrGroupOverage, ErrNoUsername, ErrNotAuthorized, ErrProvider} {
		if other != want && errors.Is(err, other) {
			t.Errorf("%v also matches %v", err, other)
		}
	}
	if len(h.sessions.started) != 0 {
		t.Fatalf("session started: %+v", h.sessions.started)
	}
}

func mutate(h *harness, f func(claims map[string]any)) {
	h.op.set(func(p *testProvider) { p.mutate = f })
}

func TestIDTokenForAnotherClientRefused(t *testing.T) {
	h := newHarness(t, nil)
	mutate(h, func(c map[string]any) { c["aud"] = "another-app" })
	refusedWith(t, h, ErrAudience)
}

func TestIDTokenForSeveralClientsWithoutAZPRefused(t *testing.T) {
	h := newHarness(t, nil)
	mutate(h, func(c map[string]any) { c["aud"] = []string{"gateway", "another-app"} })
	refusedWith(t, h, ErrAudience)
	mutate(h, func(c map[string]any) { c["aud"], c["azp"] = []string{"gateway", "another-app"}, "gateway" })
	if _, err := h.callback(h.callbackURL(), h.loginCookie()); err != nil {
		t.Fatalf("azp names us: %v", err)
	}
}

func TestIDTokenFromAnotherIssuerRefused(t *testing.T) {
	h := newHarness(t, nil)
	mutate(h, func(c map[string]any) { c["iss"] = "https://login.microsoftonline.com/other-tenant/v2.0" })
	refusedWith(t, h, ErrIssuer)
}

func TestExpiredIDTokenRefused(t *testing.T) {
	h := newHarness(t, nil)
	mutate(h, func(c map[string]any) { c["exp"] = h.clock().Add(-time.Second).Unix() })
	refusedWith(t, h, ErrExpired)
}

func TestIDTokenSignedByAnotherKeyRefused(t *testing.T) {
	h := newHarness(t, nil)
	h.op.set(func(p *testProvider) { p.signWith = testKey(t, 1) })
	refusedWith(t, h, ErrSignature)
}

func TestUnsignedIDTokenRefused(t *testing.T) {
	h := newHarness(t, nil)
	h.op.set(func(p *testProvider) {
		p.exchange = func(w http.ResponseWriter) bool {
			enc := base64.RawURLEncoding.EncodeToString
			claims := `{"iss":"` + p.issuer() + `","aud":"gateway","sub":"x","exp":` + strconv.FormatInt(h.clock().Add(time.Hour).Unix(), 10) +
				`,"preferred_username":"x","groups":["` + groupLegal + `"]}`
			writeJSON(w, 200, map[string]any{"access_token": "a", "token_type": "Bearer",
				"id_token": enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(claims)) + "."})
			return true
		}
	})
	refusedWith(t, h, ErrSignature)
}

func TestIDTokenWithoutNonceRefused(t *testing.T) {
	h := newHarness(t, nil)
	mutate(h, func(c map[string]any) { delete(c, "nonce") })
	refusedWith(t, h, ErrNonce)
}

func TestIDTokenWithAnotherLoginsNonceRefused(t *testing.T) {
	h := newHarness(t, nil)
	mutate(h, func(c map[string]any) { c["nonce"] = "nonce-of-an-earlier-log-in" })
	refusedWith(t, h, ErrNonce)
}

func TestReplayedCallbackRefused(t *testing.T) {
	h := newHarness(t, nil)
	cb, cookie := h.callbackURL(), h.loginCookie()
	if _, err := h.callback(cb, cookie); err != nil {
		t.Fatalf("first callback: %v", err)
	}
	// The same callback with the same cookie, as an attacker who
	// recorded both would send it.
	if _, err := h.callback(cb, cookie); !errors.Is(err, ErrStateReplayed) {
		t.Fatalf("replay: got %v, want ErrStateReplayed", err)
	}
}

func TestCallbackWithAnotherStateRefused(t *testing.T) {
	h := newHarness(t, nil)
	cb, _ := url.Parse(h.callbackURL())
	q := cb.Query()
	q.Set("state", "state-of-the-attackers-log-in")
	cb.RawQuery = q.Encode()
	if _, err := h.callback(cb.String(), h.loginCookie()); !errors.Is(err, ErrState) {
		t.Fatalf("got %v, want ErrState", err)
	}
}

func TestTamperedLoginCookieRefused(t *testing.T) {
	h := newHarness(t, nil)
	cb := h.callbackURL()
	c := h.loginCookie()
	payload, sig, _ := strings.Cut(c.Value, ".")
	b, _ := base64.RawURLEncoding.DecodeString(payload)
	b = []byte(strings.Replace(string(b), `"e":`, `"e":9`, 1)) // live for ever
	for name, v := range map[string]string{
		"payload changed":   base64.RawURLEncoding.EncodeToString(b) + "." + sig,
		"signature cut off": payload,
		"signature changed": payload + "." + strings.Repeat("A", len(sig)),
	} {
		if _, err := h.callback(cb, &http.Cookie{Name: c.Name, Value: v}); !errors.Is(err, ErrLoginCookie) {
			t.Errorf("%s: got %v, want ErrLoginCookie", name, err)
		}
	}
}

func TestLoginCookieOfAnotherProcessRefused(t *testing.T) {
	h := newHarness(t, nil)
	other := newHarness(t, nil) // another key, same provider shape
	cb := other.callbackURL()
	if _, err := h.callback(cb, other.loginCookie()); !errors.Is(err, ErrLoginCookie) {
		t.Fatalf("got %v, want ErrLoginCookie", err)
	}
}

func TestCallbackWithoutLoginCookieRefused(t *testing.T) {
	h := newHarness(t, nil)
	refusedCB := h.callbackURL()
	if _, err := h.callback(refusedCB, nil); !errors.Is(err, ErrLoginCookie) {
		t.Fatalf("got %v, want ErrLoginCookie", err)
	}
}

func TestLoginCookieExpiredRefused(t *testing.T) {
	h := newHarness(t, nil)
	cb, c := h.callbackURL(), h.loginCookie()
	h.advance(DefaultLoginTTL)
	if _, err := h.callback(cb, c); !errors.Is(err, ErrLoginCookie) {
		t.Fatalf("got %v, want ErrLoginCookie", err)
	}
}

func TestProviderErrorRefused(t *testing.T) {
	h := newHarness(t, nil)
	cb, _ := url.Parse(h.callbackURL())
	cb.RawQuery = url.Values{"error": {"access_denied"}, "state": {cb.Query().Get("state")}}.Encode()
	if _, err := h.callback(cb.String(), h.loginCookie()); !errors.Is(err, ErrDenied) {
		t.Fatalf("got %v, want ErrDenied", err)
	}
}

func TestStolenCodeWithoutVerifierRefused(t *testing.T) {
	// A code stolen from the redirect is worth nothing to an attacker
	// who has a log-in cookie of their own: the provider wants the
	// verifier of the log-in the code was issued for.
	h := newHarness(t, nil)
	victim, _ := url.Parse(h.callbackURL())
	attacker, _ := url.Parse(h.callbackURL()) // a new log-in cookie replaces the victim's
	code := victim.Query().Get("code")
	q := attacker.Query()
	q.Set("code", code)
	attacker.RawQuery = q.Encode()
	if _, err := h.callback(attacker.String(), h.loginCookie()); !errors.Is(err, ErrDenied) {
		t.Fatalf("got %v, want ErrDenied", err)
	}
}

func TestGroupOverageRefusedWithoutFallback(t *testing.T) {
	h := newHarness(t, nil)
	mutate(h, overage)
	refusedWith(t, h, ErrGroupOverage)
	if status, text := Message(ErrGroupOverage); status != 403 || !strings.Contains(text, "Verzeichnisgruppen") {
		t.Fatalf("message %d %q", status, text)
	}
}

func overage(c map[string]any) {
	delete(c, "groups")
	c["_claim_names"] = map[string]string{"groups": "src1"}
	c["_claim_sources"] = map[string]any{"src1": map[string]string{
		"endpoint": "https://graph.windows.net/tenant/users/u-4711/getMemberObjects"}}
}

func TestGroupOverageAskedOfGraph(t *testing.T) {
	h := newHarness(t, func(c *config.OIDCConfig) { c.GroupOverage = config.GroupOverageGraph })
	mutate(h, overage)
	h.op.set(func(p *testProvider) { p.graph = []string{groupRecords, "99999999-0000-4000-8000-000000000000"} })
	u, err := h.callback(h.callbackURL(), h.loginCookie())
	if err != nil || !equalUser(u, User{Name: "m.muster@stadt-erkelenz.de", DisplayName: "Maria Muster",
		Email: "M.Muster@stadt-erkelenz.de", Roles: []string{"records"}, Mailboxes: []string{"bauamt", "stadt"}}) {
		t.Fatalf("got %+v, %v", u, err)
	}
	h.op.set(func(p *testProvider) { p.graph = nil })
	refusedWith(t, h, ErrNotAuthorized)
}

func TestGroupOverageGraphAwayIsTemporary(t *testing.T) {
	h := newHarness(t, func(c *config.OIDCConfig) {
		c.GroupOverage = config.GroupOverageGraph
		c.GraphURL = "http://127.0.0.1:1"
	})
	mutate(h, overage)
	_, err := h.callback(h.callbackURL(), h.loginCookie())
	if !errors.Is(err, ErrProvider) || !Temporary(err) {
		t.Fatalf("got %v, want temporary ErrProvider", err)
	}
}
