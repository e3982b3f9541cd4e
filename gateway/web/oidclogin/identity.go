package oidclogin

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
)

// Identity is what a verified ID token says about the person: only what
// passed the signature, issuer, audience, expiry and nonce checks.
type Identity struct {
	Subject  string // sub: the provider's stable id of the person
	Issuer   string
	Username string // preferred_username (Entra ID: the UPN)
	Name     string // name: the display name
	Email    string
	Groups   []string // groups: object ids (Entra ID) or names
	// Overage is set when the token names a source for the groups
	// instead of carrying them (Entra ID's group overage).
	Overage bool
}

// tokenClaims are the claims read beyond the ones go-oidc checks.
type tokenClaims struct {
	PreferredUsername string            `json:"preferred_username"`
	Name              string            `json:"name"`
	Email             string            `json:"email"`
	Groups            []string          `json:"groups"`
	ClaimNames        map[string]string `json:"_claim_names"`
	// HasGroups is Entra ID's overage mark in tokens of the implicit
	// flow; honoured wherever it appears.
	HasGroups bool `json:"hasgroups"`
}

func (c tokenClaims) identity(sub, iss string) Identity {
	return Identity{
		Subject:  sub,
		Issuer:   iss,
		Username: c.PreferredUsername,
		Name:     c.Name,
		Email:    c.Email,
		Groups:   c.Groups,
		Overage:  c.ClaimNames["groups"] != "" || c.HasGroups,
	}
}

// userName is what gateway/web accepts as a user name.
var userName = regexp.MustCompile(`^[a-z0-9._@-]{1,64}$`)

// Mapping grants the members of one directory group roles and mailboxes.
type Mapping struct {
	Group     string
	Roles     []string
	Mailboxes []string
}

// MappingsFrom converts the configured group mappings.
func MappingsFrom(cs []config.GroupMappingConfig) []Mapping {
	out := make([]Mapping, len(cs))
	for i, c := range cs {
		out[i] = Mapping{Group: c.Group, Roles: slices.Clone(c.Roles), Mailboxes: slices.Clone(c.Mailboxes)}
	}
	return out
}

// MapUser builds the user of id from the mappings of the groups id is in
// (the union of their roles and mailboxes, sorted). It fails with
// ErrNotAuthorized when id is in no mapped group, and ErrNoUsername when
// neither preferred_username nor email gives a user name.
func MapUser(id Identity, mappings []Mapping) (User, error) {
	name := strings.ToLower(id.Username)
	if name == "" {
		name = strings.ToLower(id.Email)
	}
	if !userName.MatchString(name) {
		return User{}, fmt.Errorf("%w: no preferred_username or email of letters, digits and ._@-", ErrNoUsername)
	}
	u := User{Name: name, DisplayName: id.Name, Email: id.Email}
	if u.Email == "" && strings.Contains(id.Username, "@") {
		// Entra ID sends email only when the account has a mail
		// attribute; the UPN is the address in most tenants.
		u.Email = id.Username
	}
	matched := false
	for _, m := range mappings {
		if !slices.ContainsFunc(id.Groups, func(g string) bool { return strings.EqualFold(g, m.Group) }) {
			continue
		}
		matched = true
		u.Roles = append(u.Roles, m.Roles...)
		u.Mailboxes = append(u.Mailboxes, m.Mailboxes...)
	}
	if !matched {
		return User{}, fmt.Errorf("%w (%d groups in the token)", ErrNotAuthorized, len(id.Groups))
	}
	slices.Sort(u.Roles)
	u.Roles = slices.Compact(u.Roles)
	slices.Sort(u.Mailboxes)
	u.Mailboxes = slices.Compact(u.Mailboxes)
	if slices.Contains(u.Mailboxes, "*") {
		u.Mailboxes = []string{"*"}
	}
	return u, nil
}
