package web

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Role is a right a user (or an API token) holds beyond signing in.
type Role string

// The roles of the web application and the API.
const (
	// RoleLegal sends to courts and answers eEB requests (Rechtsamt).
	RoleLegal Role = "legal"
	// RoleProcurement works the Wettbewerbsregister (Vergabestelle).
	RoleProcurement Role = "procurement"
	// RoleRecords reads the inbox, the quarantine and the intake status
	// (Registratur).
	RoleRecords Role = "records"
	// RoleAdmin sees operations, imports the address book and manages
	// users (Betrieb).
	RoleAdmin Role = "admin"
)

// Roles are the known roles, in the order pages list them.
var Roles = []Role{RoleLegal, RoleProcurement, RoleRecords, RoleAdmin}

// Source says how a user signs in.
type Source string

// The sources of users.
const (
	// SourceLocal users sign in with a password kept (argon2id) in the
	// gateway's user file.
	SourceLocal Source = "local"
	// SourceOIDC users sign in at the authority's directory (OpenID
	// Connect); their roles and scopes come from its groups at each login.
	SourceOIDC Source = "oidc"
)

// AllMailboxes as the only entry of User.Mailboxes puts every mailbox of
// the gateway in scope.
const AllMailboxes = "*"

// User is a person who signs in to the web application.
type User struct {
	// Name is the login name: unique, 1 to 64 characters of
	// [a-z0-9._@-], lower case (an OIDC user's preferred_username or
	// e-mail address, lower-cased).
	Name string `json:"name"`
	// DisplayName is shown in the page header and the journal's pages.
	DisplayName string `json:"display_name,omitempty"`
	// Email is where notifications go; empty: none.
	Email string `json:"email,omitempty"`
	// Roles the user holds; no role: the user may sign in and read the
	// mailboxes in scope, nothing more.
	Roles []Role `json:"roles"`
	// Mailboxes are the names of the mailboxes in the user's scope;
	// ["*"] (AllMailboxes) is every mailbox; empty is none.
	Mailboxes []string `json:"mailboxes"`
	Source    Source   `json:"source"`
}

// Has reports whether u holds role r.
func (u User) Has(r Role) bool { return slices.Contains(u.Roles, r) }

// InScope reports whether mailbox is in u's scope.
func (u User) InScope(mailbox string) bool {
	return slices.Contains(u.Mailboxes, AllMailboxes) || slices.Contains(u.Mailboxes, mailbox)
}

// Actor is how u is named in the journal ("user:NAME"), beside the API's
// "token:LABEL" and "cert:SUBJECT".
func (u User) Actor() string { return "user:" + u.Name }

// Label is what the pages call u: the display name, else the login name.
func (u User) Label() string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Name
}

var userName = regexp.MustCompile(`^[a-z0-9._@-]{1,64}$`)

// ErrInvalidUser wraps every reason a User is refused.
var ErrInvalidUser = errors.New("web: invalid user")

// Validate checks a user before it is stored.
func (u User) Validate() error {
	switch {
	case !userName.MatchString(u.Name):
		return fmt.Errorf("%w: name %q must be 1 to 64 characters of a-z 0-9 . _ @ -", ErrInvalidUser, u.Name)
	case u.Source != SourceLocal && u.Source != SourceOIDC:
		return fmt.Errorf("%w: source %q is neither local nor oidc", ErrInvalidUser, u.Source)
	case len(u.DisplayName) > 200 || len(u.Email) > 254 || strings.ContainsAny(u.DisplayName+u.Email, "\r\n"):
		return fmt.Errorf("%w: display name or e-mail address too long or multi-line", ErrInvalidUser)
	case u.Email != "" && !strings.Contains(u.Email, "@"):
		return fmt.Errorf("%w: e-mail address %q has no @", ErrInvalidUser, u.Email)
	}
	for _, r := range u.Roles {
		if !slices.Contains(Roles, r) {
			return fmt.Errorf("%w: unknown role %q", ErrInvalidUser, r)
		}
	}
	for _, m := range u.Mailboxes {
		if m == "" || strings.ContainsAny(m, " ,\r\n") {
			return fmt.Errorf("%w: mailbox name %q", ErrInvalidUser, m)
		}
	}
	return nil
}

// ParseRoles reads "legal,records" (as the CLI and the tokens file write
// them); an unknown name is an error.
func ParseRoles(s string) ([]Role, error) {
	var out []Role
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !slices.Contains(Roles, Role(p)) {
			return nil, fmt.Errorf("%w: unknown role %q", ErrInvalidUser, p)
		}
		out = append(out, Role(p))
	}
	return out, nil
}

// Errors of a UserStore.
var (
	ErrNoUser = errors.New("web: no such user")
	// ErrBadLogin is the one answer to an unknown name, a wrong password,
	// a user without a password and an OIDC user trying a password.
	ErrBadLogin = errors.New("web: wrong name or password")
)

// UserStore keeps the users. Every method is safe for concurrent use; a
// method that changes something returns only once it is durable.
type UserStore interface {
	// User returns the user named name, or ErrNoUser.
	User(ctx context.Context, name string) (User, error)
	// Users returns every user, ordered by name.
	Users(ctx context.Context) ([]User, error)
	// Put creates u or replaces the user of that name; a local user's
	// password hash is kept. u must Validate.
	Put(ctx context.Context, u User) error
	// Delete removes a user, or returns ErrNoUser.
	Delete(ctx context.Context, name string) error
	// SetPassword sets a local user's password (argon2id); ErrNoUser for
	// an unknown user, ErrInvalidUser for an OIDC user or a password
	// shorter than MinPasswordLength.
	SetPassword(ctx context.Context, name, password string) error
	// Authenticate returns the local user whose password this is, or
	// ErrBadLogin, taking as long for an unknown name as for a known one.
	Authenticate(ctx context.Context, name, password string) (User, error)
}

// MinPasswordLength is the shortest password a local user may get.
const MinPasswordLength = 12
