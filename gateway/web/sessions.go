package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"sync"
	"time"
)

// SessionConfig configures the session store. Zero fields take the
// defaults.
type SessionConfig struct {
	// TTL is how long a session lasts at most after sign-in (default 8h).
	TTL time.Duration
	// Idle ends a session no request used for that long (default 1h).
	Idle time.Duration
	// Secure marks the cookies Secure with the __Host- prefix; set it
	// whenever the pages are reached over TLS (web.tls_cert, or a base_url
	// starting with https).
	Secure bool
	// Users re-reads a local user on every request (a user deleted or
	// given other roles is so at once) and stores an OIDC user at sign-in
	// (so notifications know the address and scope); required.
	Users UserStore
	// Journal records sign-in and sign-out ("web_login", "web_logout"
	// with actor and method); a failing journal fails the sign-in.
	// Required.
	Journal func(ctx context.Context, kind string, u User, detail map[string]string) error
	// MaxSessions bounds the sessions held (default 10000); past it the
	// oldest is ended.
	MaxSessions int
	Now         func() time.Time
	Rand        io.Reader
}

// Sessions is the server-side session store: the cookie carries only a
// random identifier (256 bits); the user, the CSRF token and the times
// stay on the server, in memory, so a restart signs everyone out.
type Sessions struct {
	cfg SessionConfig
	mu  sync.Mutex
	m   map[[32]byte]*session
}

type session struct {
	user    User
	csrf    string
	created time.Time
	seen    time.Time
}

// NewSessions returns an empty store.
func NewSessions(cfg SessionConfig) (*Sessions, error) {
	if cfg.Users == nil || cfg.Journal == nil {
		return nil, errors.New("web: sessions need a user store and a journal")
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 8 * time.Hour
	}
	if cfg.Idle <= 0 {
		cfg.Idle = time.Hour
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 10000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	return &Sessions{cfg: cfg, m: map[[32]byte]*session{}}, nil
}

// CookieName is the session cookie's name.
func (s *Sessions) CookieName() string {
	if s.cfg.Secure {
		return "__Host-bebpo_session"
	}
	return "bebpo_session"
}

func (s *Sessions) random() (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return "", fmt.Errorf("web: randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Start signs u in: it is how every login method hands a verified
// identity to the application. It journals "web_login", stores an OIDC
// user (Put) so notifications know them, ends a session r already
// carries (no fixation) and sets the session cookie on w. It writes no
// body: the caller answers next, normally with Finish.
func (s *Sessions) Start(w http.ResponseWriter, r *http.Request, u User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	if u.Source == SourceOIDC {
		// A directory account never takes over a local user of the same
		// name (and with it that user's roles and mailboxes).
		if old, err := s.cfg.Users.User(r.Context(), u.Name); err == nil && old.Source != SourceOIDC {
			return fmt.Errorf("%w: %q is a local user; the directory account of that name is not let in", ErrInvalidUser, u.Name)
		} else if err != nil && !errors.Is(err, ErrNoUser) {
			return fmt.Errorf("web: look up directory user: %w", err)
		}
		if err := s.cfg.Users.Put(r.Context(), u); err != nil {
			return fmt.Errorf("web: store directory user: %w", err)
		}
	}
	id, err := s.random()
	if err != nil {
		return err
	}
	csrf, err := s.random()
	if err != nil {
		return err
	}
	if err := s.cfg.Journal(r.Context(), "web_login", u, map[string]string{"method": string(u.Source)}); err != nil {
		return fmt.Errorf("web: journal sign-in: %w", err)
	}
	now := s.cfg.Now()
	s.mu.Lock()
	if old, ok := s.key(r); ok {
		delete(s.m, old)
	}
	if len(s.m) >= s.cfg.MaxSessions {
		s.evictLocked()
	}
	s.m[sha256.Sum256([]byte(id))] = &session{user: u, csrf: csrf, created: now, seen: now}
	s.mu.Unlock()
	http.SetCookie(w, s.cookie(id, int(s.cfg.TTL/time.Second)))
	return nil
}

// Finish answers a completed sign-in: a page that moves on to the start
// page. It is a page rather than a redirect because a sign-in that began
// at the directory is a cross-site navigation, on which the browser would
// not yet send the SameSite=Strict cookie.
func (s *Sessions) Finish(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = finishPage.Execute(w, nil)
}

var finishPage = template.Must(template.New("finish").Parse(`<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=/">
<title>Angemeldet – bebpo-gateway</title></head>
<body><main><h1>Angemeldet</h1><p><a href="/">Weiter zum Posteingang</a></p></main></body></html>
`))

// End signs r's session out (journaled "web_logout") and clears the cookie.
func (s *Sessions) End(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	k, ok := s.key(r)
	var u User
	if ok {
		u = s.m[k].user
		delete(s.m, k)
	}
	s.mu.Unlock()
	if ok {
		_ = s.cfg.Journal(context.WithoutCancel(r.Context()), "web_logout", u, nil)
	}
	http.SetCookie(w, s.cookie("", -1))
}

func (s *Sessions) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: s.CookieName(), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteStrictMode}
}

// key returns the map key of r's live session; s.mu held.
func (s *Sessions) key(r *http.Request) ([32]byte, bool) {
	c, err := r.Cookie(s.CookieName())
	if err != nil || c.Value == "" {
		return [32]byte{}, false
	}
	k := sha256.Sum256([]byte(c.Value))
	_, ok := s.m[k]
	return k, ok
}

func (s *Sessions) evictLocked() {
	var oldest [32]byte
	var at time.Time
	for k, v := range s.m {
		if at.IsZero() || v.seen.Before(at) {
			oldest, at = k, v.seen
		}
	}
	delete(s.m, oldest)
}

// current returns r's session's user and CSRF token, touching it; false
// when there is none or it expired (then it is removed). A local user is
// read again from the store.
func (s *Sessions) current(r *http.Request) (User, string, bool) {
	now := s.cfg.Now()
	s.mu.Lock()
	k, ok := s.key(r)
	if !ok {
		s.mu.Unlock()
		return User{}, "", false
	}
	se := s.m[k]
	if now.Sub(se.created) >= s.cfg.TTL || now.Sub(se.seen) >= s.cfg.Idle {
		delete(s.m, k)
		s.mu.Unlock()
		return User{}, "", false
	}
	se.seen = now
	u, csrf := se.user, se.csrf
	s.mu.Unlock()
	if u.Source == SourceLocal {
		fresh, err := s.cfg.Users.User(r.Context(), u.Name)
		if err != nil {
			s.mu.Lock()
			delete(s.m, k)
			s.mu.Unlock()
			return User{}, "", false
		}
		u = fresh
	}
	return u, csrf, true
}

// checkCSRF compares the form's token with the session's in constant time.
func checkCSRF(r *http.Request, want string) bool {
	got := r.PostFormValue(csrfField)
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// csrfField is the name of the hidden input every form carries.
const csrfField = "csrf"

type ctxKey int

const (
	userKey ctxKey = iota
	csrfKey
)

// CurrentUser returns the signed-in user of a request the application
// passed on (a Page's handler).
func CurrentUser(r *http.Request) (User, bool) {
	u, ok := r.Context().Value(userKey).(User)
	return u, ok
}

// CSRFField is the hidden input a form of a Page must carry; the
// application refuses (403) every POST without it before the handler runs.
func CSRFField(r *http.Request) template.HTML {
	tok, _ := r.Context().Value(csrfKey).(string)
	return template.HTML(`<input type="hidden" name="` + csrfField + `" value="` + template.HTMLEscapeString(tok) + `">`)
}
