package oidclogin

import "net/http"

// User is what a successful log-in hands to the session layer: the
// fields of the web application's user (gateway/web.User, Source "oidc").
// Name is the lower-cased preferred_username (else e-mail); Roles and
// Mailboxes come from the mapped directory groups ("*": every mailbox).
type User struct {
	Name        string
	DisplayName string
	Email       string
	Roles       []string
	Mailboxes   []string
}

// Sessions is the web application's session layer (gateway/web's
// *Sessions): Start validates the user, records it and sets the session
// cookie, writing no body; Finish then answers the browser.
type Sessions interface {
	Start(w http.ResponseWriter, r *http.Request, u User) error
	Finish(w http.ResponseWriter, r *http.Request)
}
