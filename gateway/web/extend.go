package web

import (
	"html/template"
	"net/http"
	"strconv"
)

// LoginMethod is a way to sign in besides the local password form (the
// directory's OpenID Connect login, gateway/web/oidclogin). The sign-in
// page shows a button per method linking to /anmeldung/{ID}/; everything
// below that path is handed to the method's handler with the prefix
// stripped, without a session and without the CSRF check (the method
// protects its own flow, e.g. with OIDC state and nonce). Once it has
// verified an identity it calls Sessions.Start with the User and then
// Sessions.Finish; on failure it answers itself (Fail shows the German
// sign-in page with a message).
type LoginMethod interface {
	// ID is the path segment, [a-z0-9-]+ ("oidc").
	ID() string
	// Label is the German text of the button ("Mit dem Dienstkonto anmelden").
	Label() string
	// Handler serves the method's paths; sessions is where it hands over.
	Handler(sessions *Sessions) http.Handler
}

// Page is a page another package adds to the application (the
// notification settings, gateway/web/notifypage). It is served at Path for GET
// and POST to signed-in users holding Role ("" for any signed-in user);
// a POST is CSRF-checked before Serve runs, so every form Serve writes
// must include CSRFField(r). Serve returns the page's body (the <main>
// content; html/template output), which the application wraps in its
// layout under Title; it returns "" after answering itself (a redirect
// after a POST, say).
type Page struct {
	Path  string // "/einstellungen/benachrichtigungen"
	Title string // German; also the navigation entry
	Role  Role
	Serve func(w http.ResponseWriter, r *http.Request, u User) (template.HTML, error)
}

// Paths of the pages, for links from elsewhere (notifications): relative
// to the application's base URL (web.base_url).
const (
	PathInbox      = "/"
	PathEEB        = "/eeb"
	PathQuarantine = "/quarantaene"
	PathRegister   = "/register"
)

// MessagePath is the path of a message's page.
func MessagePath(id int64) string { return "/nachricht/" + strconv.FormatInt(id, 10) }

// ProcedurePath is the path of a Wettbewerbsregister procedure's page.
func ProcedurePath(number string) string { return "/register/" + urlSegment(number) }

// contentSecurityPolicy allows scripts, styles and images from the
// application's own origin only, no inline script or style, no framing,
// and forms that post only to it.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// setSecurityHeaders sets the headers every answer carries.
func setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}
