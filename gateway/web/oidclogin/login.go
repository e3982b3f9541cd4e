package oidclogin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
)

// Defaults of Options.
const (
	DefaultLoginTTL      = 10 * time.Minute
	DefaultMaxUsedStates = 100000
	DefaultHTTPTimeout   = 30 * time.Second
)

// Options configure a Method.
type Options struct {
	// Config is the validated web.oidc section; ClientSecret the secret
	// it refers to, resolved.
	Config       config.OIDCConfig
	ClientSecret string
	// HTTPClient reaches the provider and Microsoft Graph (default: a
	// client with DefaultHTTPTimeout and the system roots).
	HTTPClient *http.Client
	// LoginTTL is how long a started log-in may take at the provider
	// (default 10 minutes): the log-in cookie's lifetime.
	LoginTTL time.Duration
	// MaxUsedStates bounds the states of finished callbacks remembered
	// against replay (default 100000); past it callbacks are refused with
	// ErrBusy until older log-in cookies expire.
	MaxUsedStates int
	// CookieKey signs the log-in cookie (default: 32 random bytes from
	// Rand, so a restart ends the log-ins under way).
	CookieKey []byte
	Logger    *zap.Logger
	Now       func() time.Time
	Rand      io.Reader
}

// Method is OpenID Connect log-in for the web application: the
// authorization code flow with PKCE, the ID token verified by go-oidc,
// directory groups mapped to roles and mailboxes. It is the web
// application's log-in method "oidc", served at /anmeldung/oidc/.
type Method struct {
	o        Options
	mappings []Mapping
	sealer   sealer
	used     usedStates
	cookie   http.Cookie // the log-in cookie's attributes

	mu       sync.Mutex
	provider *provider // discovered on first use
}

// provider is the discovered provider: where to send the browser and
// how to check what comes back.
type provider struct {
	oauth    oauth2.Config
	verifier verifier
}

// New returns the log-in method for o. It does not reach the provider:
// discovery happens at the first log-in and is tried again at the next
// one until it succeeds, so the web application starts while the
// provider is down.
func New(o Options) (*Method, error) {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if o.LoginTTL <= 0 {
		o.LoginTTL = DefaultLoginTTL
	}
	if o.MaxUsedStates <= 0 {
		o.MaxUsedStates = DefaultMaxUsedStates
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if len(o.Config.Scopes) == 0 {
		o.Config.Scopes = slices.Clone(config.DefaultOIDCScopes)
	}
	if o.ClientSecret == "" {
		return nil, errors.New("oidclogin: no client secret")
	}
	redirect, err := url.Parse(o.Config.RedirectURL)
	if err != nil || redirect.Host == "" {
		return nil, fmt.Errorf("oidclogin: redirect url %q", o.Config.RedirectURL)
	}
	if len(o.CookieKey) == 0 {
		o.CookieKey = make([]byte, 32)
		if _, err := io.ReadFull(o.Rand, o.CookieKey); err != nil {
			return nil, fmt.Errorf("oidclogin: cookie key: %w", err)
		}
	}
	m := &Method{
		o:        o,
		mappings: MappingsFrom(o.Config.GroupMappings),
		sealer:   sealer{key: o.CookieKey},
		used:     usedStates{max: o.MaxUsedStates},
	}
	// SameSite=Lax: the cookie must come back on the provider's
	// top-level redirect to the callback, which Strict would drop.
	m.cookie = http.Cookie{
		Name:     "bebpo-oidc-login",
		Path:     path.Dir(redirect.Path) + "/",
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
	if redirect.Scheme == "https" {
		m.cookie.Name, m.cookie.Secure = "__Secure-bebpo-oidc-login", true
	}
	return m, nil
}

// ID is the log-in method's name in the web application's paths.
func (m *Method) ID() string { return "oidc" }

// Label is the text of the log-in button.
func (m *Method) Label() string { return "Mit dem Dienstkonto anmelden (Single Sign-on)" }

// Handler serves the flow below /anmeldung/oidc/ (prefix stripped): "/"
// sends the browser to the provider, "/callback" receives it back and
// hands the verified user to sessions.
func (m *Method) Handler(sessions Sessions) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", m.start)
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		u, err := m.callback(w, r)
		if err == nil {
			if err = sessions.Start(w, r, u); err != nil {
				err = fmt.Errorf("%w: %w", ErrSession, err)
			}
		}
		m.log(u, err)
		if err != nil {
			m.refuse(w, err)
			return
		}
		sessions.Finish(w, r)
	})
	return mux
}

// discover returns the provider, reading its discovery document on
// first use.
func (m *Method) discover(ctx context.Context) (*provider, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.provider != nil {
		return m.provider, nil
	}
	c := m.o.Config
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, m.o.HTTPClient), c.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: discovery: %v", ErrProvider, err)
	}
	// The key set outlives this request: its fetches get a context of
	// their own, with our client.
	keyCtx := oidc.ClientContext(context.Background(), m.o.HTTPClient)
	m.provider = &provider{
		oauth: oauth2.Config{
			ClientID:     c.ClientID,
			ClientSecret: m.o.ClientSecret,
			Endpoint:     p.Endpoint(),
			RedirectURL:  c.RedirectURL,
			Scopes:       c.Scopes,
		},
		verifier: verifier{
			issuer:   c.Issuer,
			clientID: c.ClientID,
			strict:   p.VerifierContext(keyCtx, &oidc.Config{ClientID: c.ClientID, Now: m.o.Now}),
			signatureOnly: p.VerifierContext(keyCtx, &oidc.Config{
				SkipClientIDCheck: true, SkipIssuerCheck: true, SkipExpiryCheck: true,
			}),
		},
	}
	return m.provider, nil
}

// start sends the browser to the provider with a fresh state, nonce and
// PKCE challenge, all three bound to the signed log-in cookie.
func (m *Method) start(w http.ResponseWriter, r *http.Request) {
	p, err := m.discover(r.Context())
	var pend pending
	if err == nil {
		pend, err = m.newPending()
	}
	if err != nil {
		m.log(User{}, err)
		m.refuse(w, err)
		return
	}
	c := m.cookie
	c.Value = m.sealer.seal(pend)
	c.MaxAge = int(m.o.LoginTTL / time.Second)
	http.SetCookie(w, &c)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, p.oauth.AuthCodeURL(pend.State,
		oauth2.S256ChallengeOption(pend.Verifier), oidc.Nonce(pend.Nonce)), http.StatusFound)
}

func (m *Method) newPending() (pending, error) {
	var p pending
	var err error
	for _, f := range []*string{&p.State, &p.Nonce, &p.Verifier} {
		if *f, err = randomToken(m.o.Rand, 32); err != nil {
			return pending{}, err
		}
	}
	p.Expires = m.o.Now().Add(m.o.LoginTTL).Unix()
	return p, nil
}

// callback checks the provider's redirect back and returns the user it
// verifies; every refusal wraps one of the package's sentinels. The
// log-in cookie is spent whatever the outcome.
func (m *Method) callback(w http.ResponseWriter, r *http.Request) (User, error) {
	gone := m.cookie
	gone.MaxAge = -1
	http.SetCookie(w, &gone)
	w.Header().Set("Cache-Control", "no-store")

	q := r.URL.Query()
	if code := q.Get("error"); code != "" {
		return User{}, fmt.Errorf("%w: %.64q", ErrDenied, code)
	}
	ck, err := r.Cookie(m.cookie.Name)
	if err != nil {
		return User{}, fmt.Errorf("%w: no cookie", ErrLoginCookie)
	}
	now := m.o.Now()
	pend, err := m.sealer.open(ck.Value, now)
	if err != nil {
		return User{}, err
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(pend.State)) != 1 {
		return User{}, ErrState
	}
	if err := m.used.claim(pend.State, time.Unix(pend.Expires, 0), now); err != nil {
		return User{}, err
	}
	p, err := m.discover(r.Context())
	if err != nil {
		return User{}, err
	}
	ctx := context.WithValue(r.Context(), oauth2.HTTPClient, m.o.HTTPClient)
	tok, err := p.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pend.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return User{}, fmt.Errorf("%w: token endpoint: %.64q", ErrDenied, re.ErrorCode)
		}
		return User{}, fmt.Errorf("%w: token endpoint: %v", ErrProvider, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return User{}, fmt.Errorf("%w: token response without id_token", ErrIDToken)
	}
	id, err := p.verifier.verify(oidc.ClientContext(r.Context(), m.o.HTTPClient), raw, pend.Nonce)
	if err != nil {
		return User{}, err
	}
	if id.Overage {
		if m.o.Config.GroupOverage != config.GroupOverageGraph {
			return User{}, ErrGroupOverage
		}
		groups := make([]string, len(m.mappings))
		for i, mp := range m.mappings {
			groups[i] = mp.Group
		}
		if id.Groups, err = graphGroups(r.Context(), m.o.HTTPClient, m.o.Config.GraphURL, tok.AccessToken, groups); err != nil {
			return User{}, err
		}
	}
	return MapUser(id, m.mappings)
}

// log writes the one line of a log-in's outcome: roles and the number of
// mailboxes, never the person's name or ids.
func (m *Method) log(u User, err error) {
	if err != nil {
		m.o.Logger.Warn("web oidc login refused", zap.String("reason", err.Error()), zap.Bool("temporary", Temporary(err)))
		return
	}
	m.o.Logger.Info("web oidc login", zap.Strings("roles", u.Roles), zap.Int("mailboxes", len(u.Mailboxes)))
}
