package config

import (
	"net"
	"net/url"
	"path/filepath"
	"time"
)

// WebConfig configures the clerks' web application (gateway/web), served
// on its own listener.
type WebConfig struct {
	// Listen is the address the pages are served on, e.g. 127.0.0.1:8441.
	Listen string `yaml:"listen"`
	// BaseURL is the address people reach the pages at (behind a proxy,
	// say), used in links sent by notifications; one starting with https,
	// or TLSCert set, makes the session cookie Secure. Default: http://LISTEN/.
	BaseURL string `yaml:"base_url"`
	// SessionTTL is how long a sign-in lasts at most (default 8h);
	// IdleTimeout ends a session unused that long (default 1h).
	SessionTTL  time.Duration `yaml:"session_ttl"`
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// UsersFile holds the users (default DATA_DIR/web/users.json).
	UsersFile string `yaml:"users_file"`
	// TLSCert and TLSKey serve the pages over TLS.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// OIDC signs in through the authority's directory (OpenID Connect,
	// e.g. Microsoft Entra ID); nil: local users only.
	OIDC *OIDCConfig `yaml:"oidc"`
}

// Defaults of the web application.
const (
	DefaultSessionTTL  = 8 * time.Hour
	DefaultIdleTimeout = time.Hour
)

// WebUsersPath is the users file of the web application.
func (c *Config) WebUsersPath() string {
	if c.Web != nil && c.Web.UsersFile != "" {
		return c.Web.UsersFile
	}
	return filepath.Join(c.DataDir, "web", "users.json")
}

// Secure reports whether the pages are reached over TLS.
func (w *WebConfig) Secure() bool {
	u, err := url.Parse(w.BaseURL)
	return w.TLSCert != "" || (err == nil && u.Scheme == "https")
}

func (w *WebConfig) validate(p *problems) {
	if _, _, err := net.SplitHostPort(w.Listen); err != nil {
		p.add("web.listen", "must be host:port, not %q", w.Listen)
	}
	if w.BaseURL == "" {
		scheme := "http"
		if w.TLSCert != "" {
			scheme = "https"
		}
		w.BaseURL = scheme + "://" + w.Listen + "/"
	}
	if u, err := url.Parse(w.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add("web.base_url", "must be an http or https URL, not %q", w.BaseURL)
	}
	if w.SessionTTL == 0 {
		w.SessionTTL = DefaultSessionTTL
	}
	if w.IdleTimeout == 0 {
		w.IdleTimeout = DefaultIdleTimeout
	}
	if w.SessionTTL < time.Minute || w.IdleTimeout < time.Minute || w.IdleTimeout > w.SessionTTL {
		p.add("web", "needs 1m <= idle_timeout <= session_ttl, not %s, %s", w.IdleTimeout, w.SessionTTL)
	}
	if (w.TLSCert == "") != (w.TLSKey == "") {
		p.add("web.tls_cert", "and web.tls_key must be given together")
	}
}

// validateOIDC checks the directory sign-in against the mailboxes it may
// grant.
func (w *WebConfig) validateOIDC(p *problems, mailboxes map[string]bool) {
	if w.OIDC != nil {
		w.OIDC.validate(p, "web.oidc", mailboxes)
	}
}
