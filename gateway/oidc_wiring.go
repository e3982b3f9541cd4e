package gateway

import (
	"fmt"
	"net/http"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/web"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/web/oidclogin"
)

// The directory sign-in (web.oidc) joins the web application as a login
// method: the verified, mapped user becomes a web user of source oidc.
func init() {
	webExtenders = append(webExtenders, func(d *Daemon, cfg *config.Config, wc *web.Config) error {
		if cfg.Web == nil || cfg.Web.OIDC == nil {
			return nil
		}
		secret, err := secretAt(cfg, cfg.Web.OIDC.ClientSecret, "web.oidc.client_secret", d.opt.Getenv)
		if err != nil {
			return err
		}
		m, err := oidclogin.New(oidclogin.Options{Config: *cfg.Web.OIDC, ClientSecret: secret, Logger: d.log.Named("oidc"),
			Now: d.opt.Now, Rand: d.opt.Rand})
		if err != nil {
			return fmt.Errorf("%w: web.oidc: %w", config.ErrConfig, err)
		}
		wc.LoginMethods = append(wc.LoginMethods, oidcMethod{m})
		return nil
	})
}

// oidcMethod is the OIDC sign-in as a web.LoginMethod.
type oidcMethod struct{ m *oidclogin.Method }

func (o oidcMethod) ID() string    { return o.m.ID() }
func (o oidcMethod) Label() string { return o.m.Label() }
func (o oidcMethod) Handler(s *web.Sessions) http.Handler {
	return o.m.Handler(oidcSessions{s})
}

// oidcSessions hands the directory's user to the web sessions.
type oidcSessions struct{ s *web.Sessions }

func (a oidcSessions) Start(w http.ResponseWriter, r *http.Request, u oidclogin.User) error {
	roles := make([]web.Role, len(u.Roles))
	for i, role := range u.Roles {
		roles[i] = web.Role(role)
	}
	return a.s.Start(w, r, web.User{Name: u.Name, DisplayName: u.DisplayName, Email: u.Email, Roles: roles,
		Mailboxes: u.Mailboxes, Source: web.SourceOIDC})
}

func (a oidcSessions) Finish(w http.ResponseWriter, r *http.Request) { a.s.Finish(w, r) }
