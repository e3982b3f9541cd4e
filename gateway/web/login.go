package web

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
)

// loginCookie carries the sign-in form's CSRF token (double submit):
// there is no session yet to keep it in.
func (a *App) loginCookie() string {
	if a.sessions.cfg.Secure {
		return "__Host-bebpo_login"
	}
	return "bebpo_login"
}

type loginData struct {
	Next, Name, Error, Token string
	Methods                  []loginButton
}

type loginButton struct{ Label, Href string }

func (a *App) loginData(next string) loginData {
	d := loginData{Next: safeNext(next)}
	for _, m := range a.c.LoginMethods {
		d.Methods = append(d.Methods, loginButton{m.Label(), "/anmeldung/" + m.ID() + "/"})
	}
	return d
}

// safeNext keeps a return path only when it is a path of this
// application (no scheme, no host, no "//").
func safeNext(s string) string {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\\r\n") {
		return "/"
	}
	return s
}

func (a *App) loginForm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if _, _, ok := a.sessions.current(r); ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	a.showLogin(w, r, http.StatusOK, a.loginData(r.URL.Query().Get("weiter")))
}

func (a *App) showLogin(w http.ResponseWriter, r *http.Request, code int, d loginData) {
	tok, err := a.sessions.random()
	if err != nil {
		a.fail(w, r, User{}, err)
		return
	}
	d.Token = tok
	http.SetCookie(w, &http.Cookie{Name: a.loginCookie(), Value: tok, Path: "/anmeldung", MaxAge: 3600,
		HttpOnly: true, Secure: a.sessions.cfg.Secure, SameSite: http.SameSiteStrictMode})
	a.render(w, r, User{}, code, "login", "Anmeldung", d)
}

// passwordChecks bounds the argon2id computations running at once
// (19 MiB each), so a flood of sign-ins cannot exhaust memory.
var passwordChecks = make(chan struct{}, 4)

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	c, err := r.Cookie(a.loginCookie())
	if err != nil || r.ParseForm() != nil || !sameOrigin(r) ||
		subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue(csrfField))) != 1 || c.Value == "" {
		a.fail(w, r, User{}, errCSRF)
		return
	}
	d := a.loginData(r.PostFormValue("weiter"))
	name := strings.ToLower(strings.TrimSpace(r.PostFormValue("name")))
	d.Name = name
	select {
	case passwordChecks <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	u, err := a.c.Users.Authenticate(r.Context(), name, r.PostFormValue("passwort"))
	<-passwordChecks
	if err != nil {
		if !errors.Is(err, ErrBadLogin) {
			a.fail(w, r, User{}, err)
			return
		}
		a.c.Logger.Info("web sign-in refused")
		d.Error = "Benutzername oder Passwort ist falsch."
		a.showLogin(w, r, http.StatusUnauthorized, d)
		return
	}
	if err := a.sessions.Start(w, r, u); err != nil {
		a.fail(w, r, User{}, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: a.loginCookie(), Path: "/anmeldung", MaxAge: -1, HttpOnly: true, Secure: a.sessions.cfg.Secure, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

func (a *App) logout(w http.ResponseWriter, r *http.Request, _ User) error {
	a.sessions.End(w, r)
	http.Redirect(w, r, "/anmeldung", http.StatusSeeOther)
	return nil
}

// home sends u to the first page u may use.
func (a *App) home(w http.ResponseWriter, r *http.Request, u User) error {
	nav := a.nav(r, u)
	if len(nav) == 0 {
		a.render(w, r, u, http.StatusOK, "error", "Keine Berechtigungen", map[string]any{"Status": 0,
			"Text": "Ihrem Konto sind noch keine Postfächer oder Aufgaben zugewiesen. Bitte wenden Sie sich an den Betrieb."})
		return nil
	}
	http.Redirect(w, r, nav[0].Href, http.StatusSeeOther)
	return nil
}
