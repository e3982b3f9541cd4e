package oidclogin

import (
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
)

const (
	groupLegal   = "0b6a3c1d-1111-4222-8333-944455566677"
	groupRecords = "7f1e2d3c-aaaa-4bbb-8ccc-0123456789ab"
)

// testSessions stands in for gateway/web's session layer: Start records
// the user and sets a session cookie, Finish answers 200.
type testSessions struct {
	mu       sync.Mutex
	started  []User
	startErr error
}

func (s *testSessions) Start(w http.ResponseWriter, r *http.Request, u User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.startErr != nil {
		return s.startErr
	}
	s.started = append(s.started, u)
	http.SetCookie(w, &http.Cookie{Name: "session", Value: u.Name, Path: "/", HttpOnly: true})
	return nil
}

func (s *testSessions) Finish(w http.ResponseWriter, r *http.Request) {
	_, _ = io.WriteString(w, "angemeldet")
}

// harness is the web application with the log-in method mounted where
// gateway/web mounts it, a browser with a cookie jar, and the provider.
type harness struct {
	t        *testing.T
	op       *testProvider
	m        *Method
	app      *httptest.Server
	jar      *cookiejar.Jar
	sessions *testSessions
	logs     *observer.ObservedLogs

	mu  sync.Mutex
	now time.Time
}

func newHarness(t *testing.T, change func(*config.OIDCConfig)) *harness {
	h := &harness{t: t, sessions: &testSessions{}, now: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	h.op = newTestProvider(t, h.clock)
	var handler http.Handler
	h.app = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(h.app.Close)
	c := config.OIDCConfig{
		Issuer:       h.op.issuer(),
		ClientID:     "gateway",
		RedirectURL:  h.app.URL + config.OIDCCallbackPath,
		GroupOverage: config.GroupOverageRefuse,
		GraphURL:     h.op.srv.URL + "/graph",
		GroupMappings: []config.GroupMappingConfig{
			{Group: groupLegal, Roles: []string{"legal"}, Mailboxes: []string{"stadt"}},
			{Group: groupRecords, Roles: []string{"records"}, Mailboxes: []string{"bauamt", "stadt"}},
		},
	}
	if change != nil {
		change(&c)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	h.logs = logs
	m, err := New(Options{Config: c, ClientSecret: h.op.secret, Logger: zap.New(core), Now: h.clock})
	if err != nil {
		t.Fatal(err)
	}
	h.m = m
	mux := http.NewServeMux()
	mux.Handle("/anmeldung/oidc/", http.StripPrefix("/anmeldung/oidc", m.Handler(h.sessions)))
	handler = mux
	h.jar, _ = cookiejar.New(nil)
	return h
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = h.now.Add(d)
}

func (h *harness) browser(follow bool) *http.Client {
	c := &http.Client{Jar: h.jar}
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

// login runs the whole flow in the browser, as a person would.
func (h *harness) login() (status int, body string) {
	h.t.Helper()
	resp, err := h.browser(true).Get(h.app.URL + "/anmeldung/oidc/")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// redirect GETs u without following and returns where it sends to.
func (h *harness) redirect(u string) string {
	h.t.Helper()
	resp, err := h.browser(false).Get(u)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		h.t.Fatalf("GET %s: %s, want a redirect", u, resp.Status)
	}
	return resp.Header.Get("Location")
}

// callbackURL starts a log-in and lets the provider approve it; it
// returns the callback URL the browser would be sent to. The log-in
// cookie is in the jar.
func (h *harness) callbackURL() string {
	h.t.Helper()
	return h.redirect(h.redirect(h.app.URL + "/anmeldung/oidc/"))
}

// loginCookie is the log-in cookie as the browser holds it.
func (h *harness) loginCookie() *http.Cookie {
	u, _ := url.Parse(h.app.URL + config.OIDCCallbackPath)
	for _, c := range h.jar.Cookies(u) {
		if c.Name == h.m.cookie.Name {
			return c
		}
	}
	return nil
}

// callback hands the callback to the method directly, with cookie.
func (h *harness) callback(rawURL string, cookie *http.Cookie) (User, error) {
	h.t.Helper()
	r := httptest.NewRequest(http.MethodGet, rawURL, nil)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	return h.m.callback(httptest.NewRecorder(), r)
}

func TestLoginRoundTrip(t *testing.T) {
	h := newHarness(t, nil)
	h.op.set(func(p *testProvider) {
		p.user["groups"] = []string{groupLegal, "unmapped", strings.ToUpper(groupRecords)}
	})
	status, body := h.login()
	if status != 200 || body != "angemeldet" {
		t.Fatalf("log-in: %d %q", status, body)
	}
	want := User{
		Name: "m.muster@stadt-erkelenz.de", DisplayName: "Maria Muster", Email: "M.Muster@stadt-erkelenz.de",
		Roles: []string{"legal", "records"}, Mailboxes: []string{"bauamt", "stadt"},
	}
	if len(h.sessions.started) != 1 || !equalUser(h.sessions.started[0], want) {
		t.Fatalf("session started for %+v, want %+v", h.sessions.started, want)
	}
	if c := h.loginCookie(); c != nil {
		t.Errorf("log-in cookie left behind: %v", c)
	}
	entries := h.logs.FilterMessage("web oidc login").All()
	if len(entries) != 1 {
		t.Fatalf("log lines: %v", h.logs.All())
	}
	for k, v := range entries[0].ContextMap() {
		if s, _ := v.(string); strings.Contains(strings.ToLower(s), "muster") {
			t.Errorf("log field %s carries personal data: %v", k, v)
		}
	}
}

func equalUser(a, b User) bool {
	return a.Name == b.Name && a.DisplayName == b.DisplayName && a.Email == b.Email &&
		slices.Equal(a.Roles, b.Roles) && slices.Equal(a.Mailboxes, b.Mailboxes)
}

func TestStartSendsPKCEStateAndNonce(t *testing.T) {
	h := newHarness(t, nil)
	auth, err := url.Parse(h.redirect(h.app.URL + "/anmeldung/oidc/"))
	if err != nil {
		t.Fatal(err)
	}
	q := auth.Query()
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 43 {
			t.Errorf("%s %q: want at least 256 random bits", k, q.Get(k))
		}
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("redirect_uri") != h.app.URL+config.OIDCCallbackPath ||
		q.Get("scope") != "openid profile email" {
		t.Errorf("authorization request %v", q)
	}
	c := h.loginCookie()
	if c == nil {
		t.Fatal("no log-in cookie")
	}
	for _, k := range []string{"state", "nonce"} {
		if strings.Contains(c.Value, q.Get(k)) {
			t.Errorf("%s readable in the cookie as sent: the cookie must carry it only inside the signed payload", k)
		}
	}
}

func TestNotInMappedGroupRefused(t *testing.T) {
	h := newHarness(t, nil)
	h.op.set(func(p *testProvider) { p.user["groups"] = []string{"11111111-2222-4333-8444-555555555555"} })
	status, body := h.login()
	if status != http.StatusForbidden || !strings.Contains(body, "Sie sind für den Zugang nicht freigeschaltet") {
		t.Fatalf("got %d %q", status, body)
	}
	if len(h.sessions.started) != 0 {
		t.Fatalf("session started: %+v", h.sessions.started)
	}
	_, err := h.callback(h.callbackURL(), h.loginCookie())
	if !errors.Is(err, ErrNotAuthorized) {
		t.Fatalf("got %v, want ErrNotAuthorized", err)
	}
}

func TestSessionRefusedIsNoLogin(t *testing.T) {
	h := newHarness(t, nil)
	h.sessions.startErr = errors.New("web: invalid user")
	status, body := h.login()
	if status != http.StatusInternalServerError || !strings.Contains(body, "Sitzung konnte nicht begonnen werden") {
		t.Fatalf("got %d %q", status, body)
	}
	if e := h.logs.FilterMessage("web oidc login refused").All(); len(e) != 1 || !strings.Contains(e[0].ContextMap()["reason"].(string), ErrSession.Error()) {
		t.Fatalf("log: %v", h.logs.All())
	}
}

func TestProviderAwayThenBack(t *testing.T) {
	h := newHarness(t, nil)
	h.op.set(func(p *testProvider) { p.down = true })
	status, body := h.login()
	if status != http.StatusBadGateway || !strings.Contains(body, "nicht erreichbar") {
		t.Fatalf("provider away: %d %q", status, body)
	}
	if e := h.logs.FilterMessage("web oidc login refused").All(); len(e) != 1 || e[0].ContextMap()["temporary"] != true {
		t.Fatalf("log: %v", h.logs.All())
	}
	h.op.set(func(p *testProvider) { p.down = false })
	if status, body := h.login(); status != 200 {
		t.Fatalf("provider back: %d %q", status, body)
	}
}

func TestLoginCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		redirect, name string
		secure         bool
	}{
		{"https://gateway.example/anmeldung/oidc/callback", "__Secure-bebpo-oidc-login", true},
		{"http://127.0.0.1:8441/anmeldung/oidc/callback", "bebpo-oidc-login", false},
	} {
		m, err := New(Options{Config: config.OIDCConfig{RedirectURL: tc.redirect}, ClientSecret: "x"})
		if err != nil {
			t.Fatal(err)
		}
		c := m.cookie
		if c.Name != tc.name || c.Secure != tc.secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/anmeldung/oidc/" {
			t.Errorf("%s: cookie %+v", tc.redirect, c)
		}
	}
}

func TestMapUser(t *testing.T) {
	mappings := []Mapping{
		{Group: groupLegal, Roles: []string{"legal"}, Mailboxes: []string{"stadt"}},
		{Group: "Registratur", Roles: []string{"records", "legal"}, Mailboxes: []string{"bauamt", "stadt"}},
		{Group: "IT-Betrieb", Roles: []string{"admin"}, Mailboxes: []string{"*"}},
	}
	for _, tc := range []struct {
		name    string
		id      Identity
		want    User
		wantErr error
	}{
		{"object id", Identity{Username: "A.B@x.de", Groups: []string{groupLegal}},
			User{Name: "a.b@x.de", Email: "A.B@x.de", Roles: []string{"legal"}, Mailboxes: []string{"stadt"}}, nil},
		{"union of groups, names ignoring case", Identity{Username: "ab", Email: "ab@x.de", Name: "A B", Groups: []string{strings.ToUpper(groupLegal), "registratur"}},
			User{Name: "ab", DisplayName: "A B", Email: "ab@x.de", Roles: []string{"legal", "records"}, Mailboxes: []string{"bauamt", "stadt"}}, nil},
		{"every mailbox", Identity{Email: "it@x.de", Groups: []string{"IT-Betrieb", groupLegal}},
			User{Name: "it@x.de", Email: "it@x.de", Roles: []string{"admin", "legal"}, Mailboxes: []string{"*"}}, nil},
		{"no mapped group", Identity{Username: "ab", Groups: []string{"Kantine"}}, User{}, ErrNotAuthorized},
		{"no groups", Identity{Username: "ab"}, User{}, ErrNotAuthorized},
		{"no user name", Identity{Subject: "u1", Groups: []string{groupLegal}}, User{}, ErrNoUsername},
		{"user name the web refuses", Identity{Username: "o'brien@x.de", Groups: []string{groupLegal}}, User{}, ErrNoUsername},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := MapUser(tc.id, mappings)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || !equalUser(u, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", u, err, tc.want)
			}
		})
	}
}
