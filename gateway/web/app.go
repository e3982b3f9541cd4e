package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/intermediaries"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/limit"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Mailbox is one of the gateway's mailboxes as the pages show it.
type Mailbox struct {
	Name string
	// Organisation is the name shown beside it; empty: Name.
	Organisation string
}

// Limits bound what a page may cost. Zero fields take the defaults.
type Limits struct {
	// MaxListScan is how many messages a list with search terms reads at
	// most (newest first) to find its matches; default 5000.
	MaxListScan int
	// PageSize is how many rows a list shows; default 100.
	PageSize int
	// MaxFormBytes bounds a form without files; default 64 KiB.
	MaxFormBytes int64
}

func (l Limits) withDefaults() Limits {
	return limit.Fill(l, Limits{MaxListScan: 5000, PageSize: 100, MaxFormBytes: 64 << 10})
}

// Config is everything the application needs; the daemon builds it.
type Config struct {
	Store mailbox.Store
	Blobs mailbox.BlobStore
	Book  *addressbook.Book
	// Submitter is the one submission path (the API's, api.Server.Submitter).
	Submitter *submit.Submitter
	Mailboxes []Mailbox
	Users     UserStore
	Session   SessionConfig // Users, Journal, Now and Rand are filled in from here
	// EEB serves the eEB tasks; nil: the eEB page says it is not available.
	EEB *eeb.Service
	// Register is the Wettbewerbsregister; nil: its pages say so.
	Register *register.Register
	// Intermediaries tells their health on the Betrieb page; nil: none.
	Intermediaries func() []intermediaries.View
	// OwnCertificates are our own keys' certificates with their ends, for
	// the Betrieb page; nil: none shown.
	OwnCertificates func() []CertificateView
	LoginMethods    []LoginMethod
	Pages           []Page
	Limits          Limits
	Logger          *zap.Logger
	Now             func() time.Time
}

// CertificateView is one of our certificates on the Betrieb page.
type CertificateView struct {
	Use      string // German: "Signatur Postfach stadt"
	Subject  string
	NotAfter time.Time
}

// App is the web application. It holds no goroutines.
type App struct {
	c        Config
	lim      Limits
	sessions *Sessions
	tpl      *templates
	mux      *http.ServeMux
	names    []string
}

// New builds the application: it parses every template and fails when
// one does not parse.
func New(c Config) (*App, error) {
	if c.Store == nil || c.Blobs == nil || c.Book == nil || c.Submitter == nil || c.Users == nil || len(c.Mailboxes) == 0 {
		return nil, errors.New("web: application needs store, blobs, address book, submitter, users and mailboxes")
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	tpl, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	a := &App{c: c, lim: c.Limits.withDefaults(), tpl: tpl, mux: http.NewServeMux()}
	for _, m := range c.Mailboxes {
		a.names = append(a.names, m.Name)
	}
	sc := c.Session
	sc.Users, sc.Now = c.Users, c.Now
	sc.Journal = a.journalUser
	if a.sessions, err = NewSessions(sc); err != nil {
		return nil, err
	}
	for _, p := range c.Pages {
		if !strings.HasPrefix(p.Path, "/") || p.Serve == nil {
			return nil, fmt.Errorf("web: page %q needs a path starting with / and a Serve function", p.Path)
		}
	}
	a.routes()
	return a, nil
}

// Sessions returns the session store (login methods hand over there).
func (a *App) Sessions() *Sessions { return a.sessions }

// Handler returns the application's HTTP handler.
func (a *App) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w)
		a.mux.ServeHTTP(w, r)
	})
}

// journalUser is the sessions' journal: sign-in and sign-out entries.
func (a *App) journalUser(ctx context.Context, kind string, u User, detail map[string]string) error {
	d := map[string]string{"actor": u.Actor()}
	for k, v := range detail {
		d[k] = v
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, err := a.c.Store.Append(ctx, mailbox.EventInput{At: a.c.Now(), Kind: kind, Detail: d})
	if err == nil {
		a.c.Logger.Info("web "+strings.TrimPrefix(kind, "web_"), zap.String("method", d["method"]))
	}
	return err
}

// journal records one action of a user: what (the route), on which
// message, and how it ended. A failing journal fails the request.
func (a *App) journal(r *http.Request, u User, id int64, status int) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	_, err := a.c.Store.Append(ctx, mailbox.EventInput{At: a.c.Now(), MessageID: id, Kind: "web", Detail: map[string]string{
		"actor": u.Actor(), "method": r.Method, "path": cut(r.URL.Path, 256), "status": strconv.Itoa(status)}})
	if err != nil {
		a.c.Logger.Error("web action not journaled", zap.Error(err))
	}
	return err
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// access says who may use a route.
type access struct {
	roles []Role // any of them; none: any signed-in user
	// multipart routes check the CSRF token in the form's first part.
	multipart bool
}

func anyOf(roles ...Role) access { return access{roles: roles} }

// handler is a page; an error it returns is shown as the German error page.
type handler func(w http.ResponseWriter, r *http.Request, u User) error

// page registers a route that needs a session: without one a GET goes to
// the sign-in page and anything else is refused; a user lacking the
// route's roles gets 403; a POST without the session's CSRF token gets
// 403 before anything is read; every POST is journaled.
func (a *App) page(pattern string, acc access, h handler) {
	a.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		u, csrf, ok := a.sessions.current(r)
		if !ok {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/anmeldung?weiter="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			a.fail(w, r, User{}, errStatus(http.StatusUnauthorized, "Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an."))
			return
		}
		ctx := context.WithValue(context.WithValue(r.Context(), userKey, u), csrfKey, csrf)
		r = r.WithContext(ctx)
		if len(acc.roles) > 0 && !hasAny(u, acc.roles) {
			a.fail(w, r, u, errStatus(http.StatusForbidden, "Für diese Seite fehlt Ihnen die Berechtigung."))
			return
		}
		if r.Method == http.MethodPost {
			if !sameOrigin(r) || (!acc.multipart && !a.formCSRF(w, r, csrf)) {
				a.fail(w, r, u, errCSRF)
				return
			}
			rec := &statusRecorder{ResponseWriter: w}
			err := h(rec, r, u)
			if err != nil {
				rec.code = statusOf(err)
			}
			var id int64
			if v := r.PathValue("id"); v != "" {
				id, _ = strconv.ParseInt(v, 10, 64)
			}
			if jerr := a.journal(r, u, id, rec.status()); jerr != nil && err == nil && !rec.wrote {
				err = jerr
			}
			if err != nil && !rec.wrote {
				a.fail(w, r, u, err)
			}
			return
		}
		if err := h(w, r, u); err != nil {
			a.fail(w, r, u, err)
		}
	}))
}

func hasAny(u User, roles []Role) bool {
	for _, r := range roles {
		if u.Has(r) {
			return true
		}
	}
	return false
}

// formCSRF reads a url-encoded form (bounded) and checks its token.
func (a *App) formCSRF(w http.ResponseWriter, r *http.Request, want string) bool {
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.lim.MaxFormBytes)
	if err := r.ParseForm(); err != nil {
		return false
	}
	return checkCSRF(r, want)
}

// sameOrigin refuses a POST whose Origin (when the browser sends one)
// names another host: a second line behind the CSRF token.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

var errCSRF = errStatus(http.StatusForbidden, "Das Formular ist abgelaufen oder stammt nicht von dieser Anwendung. Bitte laden Sie die Seite neu und senden Sie es erneut.")

// pageError is an error with the status and German text the user sees.
type pageError struct {
	code int
	text string
}

func (e *pageError) Error() string { return fmt.Sprintf("web: %d %s", e.code, e.text) }

func errStatus(code int, text string) error { return &pageError{code, text} }

// errNotFound answers what does not exist and what is outside the
// user's scope alike.
var errNotFound = errStatus(http.StatusNotFound, "Diese Seite gibt es nicht, oder sie gehört zu einem Postfach, für das Sie nicht berechtigt sind.")

func statusOf(err error) int {
	var pe *pageError
	switch {
	case errors.As(err, &pe):
		return pe.code
	case errors.Is(err, mailbox.ErrNotFound), errors.Is(err, eeb.ErrNotFound), errors.Is(err, register.ErrNotFound):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// fail shows the error page; an error that is not the user's is logged
// and shown without its internals.
func (a *App) fail(w http.ResponseWriter, r *http.Request, u User, err error) {
	code := statusOf(err)
	text := "Es ist ein Fehler aufgetreten. Der Betrieb wurde benachrichtigt; bitte versuchen Sie es später erneut."
	var pe *pageError
	switch {
	case errors.As(err, &pe):
		text = pe.text
	case code == http.StatusNotFound:
		text = errNotFound.(*pageError).text
	default:
		a.c.Logger.Error("web page failed", zap.String("path", cut(r.URL.Path, 256)), zap.Error(err))
	}
	a.render(w, r, u, code, "error", "Fehler", map[string]any{"Status": code, "Text": text})
}

// statusRecorder remembers the status a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code, s.wrote = code, true
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if !s.wrote {
		s.code, s.wrote = http.StatusOK, true
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}

// mailboxInScope returns the mailbox named name when u may see it.
func (a *App) mailboxInScope(u User, name string) (Mailbox, bool) {
	for _, m := range a.c.Mailboxes {
		if m.Name == name && u.InScope(name) {
			return m, true
		}
	}
	return Mailbox{}, false
}

// scope returns the names of u's mailboxes, in configuration order.
func (a *App) scope(u User) []string {
	out := []string{}
	for _, n := range a.names {
		if u.InScope(n) {
			out = append(out, n)
		}
	}
	return out
}

// message returns the message the request's path names ({id}) when u
// may see its mailbox, else mailbox.ErrNotFound, as if it did not exist.
func (a *App) message(r *http.Request, u User) (mailbox.Message, error) {
	id, err := pathInt(r, "id")
	if err != nil {
		return mailbox.Message{}, err
	}
	m, err := a.c.Store.Get(r.Context(), id)
	if err != nil {
		return m, err
	}
	if _, ok := a.mailboxInScope(u, m.Mailbox); !ok {
		return mailbox.Message{}, mailbox.ErrNotFound
	}
	return m, nil
}

// messageOf is message for a message of direction dir only: another is
// not found.
func (a *App) messageOf(r *http.Request, u User, dir mailbox.Direction) (mailbox.Message, error) {
	m, err := a.message(r, u)
	if err == nil && m.Direction != dir {
		return mailbox.Message{}, errNotFound
	}
	return m, err
}

func pathInt(r *http.Request, name string) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || n <= 0 {
		return 0, errNotFound
	}
	return n, nil
}

// view is what every page template receives.
type view struct {
	Title     string
	User      User
	SignedIn  bool
	CSRF      template.HTML
	Nav       []navItem
	Mailboxes []Mailbox
	Data      any
	Body      template.HTML // a Page's body
	Refresh   bool
}

type navItem struct {
	Label, Href string
	Current     bool
}

// nav is the navigation u sees: only what u may use.
func (a *App) nav(r *http.Request, u User) []navItem {
	var out []navItem
	add := func(label, href string, ok bool) {
		if ok {
			cur := r.URL.Path == href || (href != "/" && strings.HasPrefix(r.URL.Path, href+"/"))
			out = append(out, navItem{label, href, cur})
		}
	}
	mail := u.Has(RoleLegal) || u.Has(RoleRecords)
	for _, n := range a.scope(u) {
		add("Posteingang "+n, "/postfach/"+n+"/eingang", mail)
		add("Postausgang "+n, "/postfach/"+n+"/ausgang", mail)
	}
	add("Senden", "/senden", u.Has(RoleLegal))
	add("eEB-Aufgaben", PathEEB, u.Has(RoleLegal))
	add("Quarantäne", PathQuarantine, u.Has(RoleRecords))
	add("Wettbewerbsregister", PathRegister, u.Has(RoleProcurement))
	add("Betrieb", "/betrieb", u.Has(RoleAdmin))
	for _, p := range a.c.Pages {
		add(p.Title, p.Path, p.Role == "" || u.Has(p.Role))
	}
	return out
}

// render executes page name in the layout.
func (a *App) render(w http.ResponseWriter, r *http.Request, u User, code int, name, title string, data any) {
	v := view{Title: title, User: u, SignedIn: u.Name != "", Data: data}
	if v.SignedIn {
		v.CSRF, v.Nav = CSRFField(r), a.nav(r, u)
		for _, m := range a.c.Mailboxes {
			if u.InScope(m.Name) {
				v.Mailboxes = append(v.Mailboxes, m)
			}
		}
	}
	if b, ok := data.(bodyData); ok {
		v.Body, v.Data = b.body, nil
	}
	a.tpl.execute(w, code, name, v, a.c.Logger)
}

type bodyData struct{ body template.HTML }
