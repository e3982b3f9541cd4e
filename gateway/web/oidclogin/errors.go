package oidclogin

import (
	"errors"
	"net/http"
)

// Reasons a log-in is refused. Every refusal wraps exactly one of them;
// Message gives the German text for the person at the browser.
var (
	// ErrNotAuthorized: the user is in no mapped directory group.
	ErrNotAuthorized = errors.New("oidclogin: user is in no mapped group")
	// ErrLoginCookie: the log-in cookie is missing, expired or not ours
	// (tampered, or signed with another key).
	ErrLoginCookie = errors.New("oidclogin: log-in cookie missing, expired or tampered")
	// ErrState: the callback's state is not the one the cookie was set for.
	ErrState = errors.New("oidclogin: state does not match the log-in cookie")
	// ErrStateReplayed: the callback's state was used before.
	ErrStateReplayed = errors.New("oidclogin: state already used")
	// ErrDenied: the provider answered the callback with an error
	// (access_denied, a cancelled log-in, ...).
	ErrDenied = errors.New("oidclogin: provider refused the log-in")
	// ErrIssuer, ErrAudience, ErrExpired, ErrSignature, ErrNonce: the ID
	// token failed that check; ErrIDToken: it failed another one
	// (malformed, not yet valid).
	ErrIssuer    = errors.New("oidclogin: id token from another issuer")
	ErrAudience  = errors.New("oidclogin: id token for another client")
	ErrExpired   = errors.New("oidclogin: id token expired")
	ErrSignature = errors.New("oidclogin: id token signature invalid")
	ErrNonce     = errors.New("oidclogin: id token nonce missing or wrong")
	ErrIDToken   = errors.New("oidclogin: id token invalid")
	// ErrGroupOverage: the token names a source for the groups instead of
	// carrying them (Entra ID's group overage) and no fallback is
	// configured, or the fallback did not answer.
	ErrGroupOverage = errors.New("oidclogin: groups not in the id token (group overage)")
	// ErrNoUsername: the token has neither preferred_username nor email.
	ErrNoUsername = errors.New("oidclogin: id token names no user")
	// ErrProvider: the provider (discovery, token endpoint, Microsoft
	// Graph) could not be reached or answered an error. Temporary.
	ErrProvider = errors.New("oidclogin: provider unavailable")
	// ErrBusy: too many log-ins are under way to remember their states.
	// Temporary.
	ErrBusy = errors.New("oidclogin: too many log-ins under way")
	// ErrSession: the session layer refused to start the session.
	ErrSession = errors.New("oidclogin: session not started")
)

// Temporary reports whether trying the log-in again later may succeed
// without anyone changing anything.
func Temporary(err error) bool {
	return errors.Is(err, ErrProvider) || errors.Is(err, ErrBusy)
}

// messages are what the person at the browser reads, per reason.
var messages = []struct {
	err    error
	status int
	text   string
}{
	{ErrNotAuthorized, http.StatusForbidden, "Sie sind für den Zugang nicht freigeschaltet. Bitte wenden Sie sich an die IT, damit Ihr Konto einer berechtigten Gruppe zugeordnet wird."},
	{ErrGroupOverage, http.StatusForbidden, "Die Anmeldung ist nicht möglich: Ihr Konto ist Mitglied in so vielen Verzeichnisgruppen, dass der Anmeldedienst sie nicht übermittelt. Bitte wenden Sie sich an die IT (Stichwort: Gruppenüberschreitung, „group overage“)."},
	{ErrNoUsername, http.StatusForbidden, "Die Anmeldung ist nicht möglich: Der Anmeldedienst hat keinen Benutzernamen übermittelt. Bitte wenden Sie sich an die IT."},
	{ErrDenied, http.StatusForbidden, "Die Anmeldung wurde beim Anmeldedienst abgebrochen oder abgelehnt."},
	{ErrLoginCookie, http.StatusBadRequest, "Die Anmeldung ist abgelaufen oder ungültig. Bitte melden Sie sich erneut an."},
	{ErrState, http.StatusBadRequest, "Die Anmeldung ist abgelaufen oder ungültig. Bitte melden Sie sich erneut an."},
	{ErrStateReplayed, http.StatusBadRequest, "Diese Anmeldung wurde bereits verwendet. Bitte melden Sie sich erneut an."},
	{ErrProvider, http.StatusBadGateway, "Der Anmeldedienst ist zurzeit nicht erreichbar. Bitte versuchen Sie es in einigen Minuten erneut."},
	{ErrBusy, http.StatusServiceUnavailable, "Zurzeit laufen zu viele Anmeldungen. Bitte versuchen Sie es in einigen Minuten erneut."},
	{ErrSession, http.StatusInternalServerError, "Die Sitzung konnte nicht begonnen werden. Bitte versuchen Sie es erneut."},
}

// Message returns the German text and HTTP status for a refused log-in.
// Reasons about the ID token share one text: the person at the browser
// can do nothing about them but try again; the log names the reason.
func Message(err error) (status int, text string) {
	for _, m := range messages {
		if errors.Is(err, m.err) {
			return m.status, m.text
		}
	}
	return http.StatusBadRequest, "Die Anmeldung ist fehlgeschlagen. Bitte melden Sie sich erneut an; hilft das nicht, wenden Sie sich an die IT."
}
